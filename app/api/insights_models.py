"""The published contract of what a tenant learns from its own traffic: usage analytics and knowledge gaps."""
from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.models import Model
from app.audit.analytics import GAP_RETENTION_S, MAX_DAYS, MAX_GAP_CHARS

GAP_DAYS = GAP_RETENTION_S // 86400
DAY = r"^\d{4}-\d{2}-\d{2}$"


class AnalyticsQuery(Model):
    days: int = Field(30, ge=1, le=MAX_DAYS, description="local days back from today (included)")


class DayCount(BaseModel):
    date: str = Field(pattern=DAY, description="a day in the company's timezone")
    count: int = Field(ge=0, description="distinct end users who got an answer that day")


class HourCount(BaseModel):
    hour: int = Field(ge=0, le=23, description="hour of day in the company's timezone")
    count: int = Field(ge=0, description="answered turns in that hour, over the whole window")


class Resolution(BaseModel):
    bot: int = Field(ge=0, description="turns the bot answered itself")
    handoff: int = Field(ge=0, description="turns handed to a person (emergencies included)")


class Analytics(BaseModel):
    days: int
    timezone: str
    start: str = Field(alias="from", pattern=DAY)
    end: str = Field(alias="to", pattern=DAY, description="today, in the company's timezone")
    turns: int = Field(ge=0)
    conversations_per_day: list[DayCount] = Field(description="every day of the window, oldest first")
    resolution: Resolution
    agents: dict[str, int] = Field(description="answered turns per agent (sales, support, emergency, schedule, "
                                               "human, …)")
    busiest_hours: list[HourCount] = Field(description="all 24 hours in order, for a chart; sort by count for the "
                                                       "busiest")
    channels: dict[str, int] = Field(description="answered turns per channel (web, whatsapp, instagram, email, …)")


class KnowledgeGapsQuery(Model):
    days: int = Field(30, ge=1, le=GAP_DAYS, description="how far back; questions are kept 90 days")
    limit: int = Field(20, ge=1, le=100, description="at most this many groups, the most asked first")


class KnowledgeGap(BaseModel):
    question: str = Field(max_length=MAX_GAP_CHARS, description="the group's most asked wording, anonymized: "
                                                                "personal values are placeholders like <PERSON_1>")
    count: int = Field(ge=1, description="how many times a question of this group was asked")
    last_asked: str = Field(description="UTC, ISO 8601")
    examples: list[str] = Field(max_length=3, description="up to three other wordings of the group, anonymized")


class KnowledgeGaps(BaseModel):
    days: int
    gaps: int = Field(ge=0, description="unanswered questions in the window")
    groups: list[KnowledgeGap]
