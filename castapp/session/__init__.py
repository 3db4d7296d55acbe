"""Sender and receiver sessions: asyncio state machines over signaling and media (no Qt)."""
