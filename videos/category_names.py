"""Simplified Chinese names of the categories this project ships or imports: the demo catalog's
and MovieLens's genres. A category created with one of these English names gets its Chinese name
filled in; an operator's own categories are named in each language in the admin."""

from __future__ import annotations

ZH_HANS: dict[str, str] = {
    # Demo catalog (videos/demo.py).
    "Cooking": "烹饪",
    "Science": "科学",
    "Travel": "旅行",
    "Music": "音乐",
    "Fitness": "健身",
    "Technology": "科技",
    "Nature": "自然",
    "History": "历史",
    # MovieLens genres (100K's u.genre and the later releases' movies.csv).
    "Action": "动作",
    "Adventure": "冒险",
    "Animation": "动画",
    "Children": "儿童",
    "Children's": "儿童",
    "Comedy": "喜剧",
    "Crime": "犯罪",
    "Documentary": "纪录片",
    "Drama": "剧情",
    "Fantasy": "奇幻",
    "Film-Noir": "黑色电影",
    "Horror": "恐怖",
    "IMAX": "IMAX",
    "Musical": "歌舞",
    "Mystery": "悬疑",
    "Romance": "爱情",
    "Sci-Fi": "科幻",
    "Thriller": "惊悚",
    "War": "战争",
    "Western": "西部",
    "unknown": "未分类",
}
