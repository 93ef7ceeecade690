#!/usr/bin/env sh
# Regenerate static/media/demo-clip.webm: a 6-second silent 320x180 VP8 test pattern (about 100 KB)
# that the site can play without any network access (used by the browser test of the player).
# Needs ffmpeg (Debian: apt-get install ffmpeg); the generated file is committed, so running the
# site or the tests never needs ffmpeg.
set -eu
cd "$(dirname "$0")/.."
out=static/media/demo-clip.webm
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x180:rate=24:duration=6" \
  -c:v libvpx -b:v 120k -deadline good -auto-alt-ref 0 -an \
  -metadata title="Video Recommender demo clip" \
  "$out"
ls -l "$out"
