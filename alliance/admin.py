from django.contrib import admin

from .models import CheckIn, Flag, SurveyInvitation


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ("session", "client", "source", "total", "submitted_at")
    list_filter = ("source",)
    raw_id_fields = ("session", "client")
    list_select_related = ("session", "client")
    # The client's comment is for their therapist alone: a platform operator never sees
    # it here (nor searches or filters by it).
    exclude = ("comment",)


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    list_display = ("session", "status", "due_at", "sent_at", "answered_at", "attempts")
    list_filter = ("status",)
    raw_id_fields = ("session", "client")
    # The digest is useless to a person and should not be copied around.
    exclude = ("token_hash", "reminder_token_hash")


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ("client", "kind", "raised_at", "acknowledged_at", "resolved_at")
    list_filter = ("kind",)
    raw_id_fields = ("client", "session", "acknowledged_by")
