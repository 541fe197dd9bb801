"""Expert pool routes (placeholder until the experts part lands)."""

from fastapi import APIRouter

router = APIRouter(prefix="/experts", tags=["experts"])
