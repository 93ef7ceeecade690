from django.contrib import admin

from accounts.forms import AdminLoginForm

admin.site.login_form = AdminLoginForm
