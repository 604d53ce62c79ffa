from django.urls import path

from dothi.identity import views

app_name = "identity"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/confirm/", views.signup_confirm, name="signup_confirm"),
    path("signin/", views.signin, name="signin"),
    path("signin/confirm/", views.signin_confirm, name="signin_confirm"),
    path("staff/signin/", views.staff_signin, name="staff_signin"),
    path("staff/totp/", views.staff_totp, name="staff_totp"),
    path("staff/totp/enrol/", views.totp_enrol, name="totp_enrol"),
    path("signout/", views.signout, name="signout"),
    path("", views.account, name="account"),
    path("export/", views.account_export, name="account_export"),
    path("delete/", views.account_delete, name="account_delete"),
    path("privacy/", views.privacy_notice, name="privacy"),
]
