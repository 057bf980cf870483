"""Running a server for real: backups, restores and the systemd unit."""
