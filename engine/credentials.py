"""Where secrets come from when the environment lacks them: an interactive prompt, if the CLI set one.

A prompted value is put into this process's environment under the variable the inventory names
(``password_env``), so every device using that variable is asked once, the masker masks it, and a
commit-confirm reverter started from here inherits it. It never reaches argv or a log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

prompt: Callable[[str], str] | None = None  # set by the CLI when stdin is a terminal (getpass.getpass)
_lock = threading.Lock()


def secret(variable: str, label: str) -> str | None:
    """The value of ``variable``, asking for it once if it is unset and a prompt is available."""
    with _lock:
        value = os.environ.get(variable)
        if value is None and prompt is not None:
            value = prompt(f"{label} (${variable}): ")
            os.environ[variable] = value
        return value
