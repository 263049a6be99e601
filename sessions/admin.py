from django.contrib import admin

from .models import Session, SessionChange


class SessionChangeInline(admin.TabularInline):
    model = SessionChange
    extra = 0
    can_delete = False
    readonly_fields = ("changed_by", "changed_at", "fields")


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    # SessionNote is deliberately not registered and not inlined: the admin never shows
    # a note, not even its ciphertext. Only its author reads it, on the session page.
    list_display = ("id", "client", "therapist", "scheduled_start", "attendance", "format")
    list_filter = ("attendance", "format")
    date_hierarchy = "scheduled_start"
    list_select_related = ("client", "therapist")
    raw_id_fields = ("client", "therapist")
    inlines = [SessionChangeInline]
