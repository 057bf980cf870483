"""The village dashboard: served by the API process, every asset inside the package."""

from village_brain.dashboards.web.mount import mount_dashboard

__all__ = ["mount_dashboard"]
