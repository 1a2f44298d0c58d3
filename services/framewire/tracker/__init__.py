"""Multi-object tracking of one stream's detections: stable track ids across frames."""
