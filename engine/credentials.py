"""Where secrets come from when the environment lacks them: the prompt the caller passes, if any.

The CLI passes ``getpass.getpass`` when stdin is a terminal (in ``Connection.prompt``, which the
drivers hand on here); a pipeline or a library caller passes none, and a missing secret is an error.

A prompted value is put into this process's environment under the variable the inventory names
(``password_env``), so every device using that variable is asked once, the masker masks it, and a
commit-confirm reverter started from here inherits it. It never reaches argv or a log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

Prompt = Callable[[str], str]  # label -> what the user typed ("password for netops@sw1 ($SW_PW): ")
_lock = threading.Lock()  # one question at a time, and each variable asked once, across device threads


def secret(variable: str, label: str, prompt: Prompt | None = None) -> str | None:
    """The value of ``variable``, asking ``prompt`` for it once if it is unset."""
    with _lock:
        value = os.environ.get(variable)
        if value is None and prompt is not None:
            value = prompt(f"{label} (${variable}): ")
            os.environ[variable] = value
        return value
