"""Clips and snapshots cut from the frames still on Kafka (``framewire clip``, the dashboard's
clip jobs): a clip is a read of a stream's frames topic, not a recording pipeline."""
