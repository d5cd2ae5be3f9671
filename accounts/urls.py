from django.urls import include, path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.login_view, name="login"),
    path("sign-out/", views.logout_view, name="logout"),
    path("administration/", views.admin_home, name="admin_home"),
    path("", include("accounts.user_urls")),
    path("", include("accounts.mfa_urls")),
]
