"""Cross-context signals. Upstream contexts learn about downstream events only through these (or BPMN).

Receivers run inside the sender's transaction: they may write rows, never commit."""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

# Sent by org when a user is disabled: receivers move that user's records (kwargs: user, to_user, actor).
user_disabled = signals.signal("user-disabled")
# Sent after a user logs in successfully (kwargs: user).
user_logged_in = signals.signal("user-logged-in")
