from django.contrib import admin

from .models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("display_name", "therapist", "clinic", "modality", "relationship_approach", "status")
    list_filter = ("clinic", "status", "modality", "relationship_approach", "language")
    search_fields = ("display_name",)
    list_select_related = ("therapist", "clinic")
    raw_id_fields = ("therapist",)
