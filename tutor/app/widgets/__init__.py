"""Widgets that post Messages to their screen and know nothing of the screen around them."""
