"""Request schemas (the seed's Zod schemas as pydantic models), validated before any DB access."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class UserSettings(Request):
    sound_enabled: bool | None = Field(None, alias="soundEnabled")
    music_enabled: bool | None = Field(None, alias="musicEnabled")
    notifications_enabled: bool | None = Field(None, alias="notificationsEnabled")


class UserUpdate(Request):
    user_id: uuid.UUID | None = Field(None, alias="userId")
    username: str | None = Field(None, min_length=3, max_length=20, pattern=r"^[A-Za-z0-9_]+$")
    email: EmailStr | None = Field(None, max_length=254)
    settings: UserSettings | None = None
