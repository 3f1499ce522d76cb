"""The docs' full example, main.py; bound to 127.0.0.1 and $PORT."""
import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "app.app:app",
        host="127.0.0.1",
        port=int(os.environ.get("PORT", "8000")),
        log_level="info",
    )
