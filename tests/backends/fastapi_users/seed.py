"""Creates the tables and the test users, following the docs' cookbook "Create a user
programmatically" (the dependencies turned into context managers). The inactive user is created
with is_active=False through the same UserCreate schema (user_manager.create is not `safe`, so the
flag is kept)."""
import asyncio
import contextlib

from fastapi_users.exceptions import UserAlreadyExists

from app.db import create_db_and_tables, get_async_session, get_user_db
from app.schemas import UserCreate
from app.users import get_user_manager

get_async_session_context = contextlib.asynccontextmanager(get_async_session)
get_user_db_context = contextlib.asynccontextmanager(get_user_db)
get_user_manager_context = contextlib.asynccontextmanager(get_user_manager)

USERS = [
    ("alice@example.com", "correct-horse", True),
    ("inactive@example.com", "correct-horse", False),
]


async def create_user(email: str, password: str, is_active: bool):
    try:
        async with get_async_session_context() as session:
            async with get_user_db_context(session) as user_db:
                async with get_user_manager_context(user_db) as user_manager:
                    return await user_manager.create(
                        UserCreate(email=email, password=password, is_active=is_active)
                    )
    except UserAlreadyExists:
        return None


async def main():
    await create_db_and_tables()
    for email, password, active in USERS:
        await create_user(email, password, active)
    print(f"seeded {len(USERS)} users")


if __name__ == "__main__":
    asyncio.run(main())
