"""Static files of the built-in status page (served by ops.status_page)."""
