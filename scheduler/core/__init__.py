"""What every module's scheduled jobs share."""
