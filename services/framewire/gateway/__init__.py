"""The transcoding gateway: many live sources in, paced JPEG frames out to Kafka.

Entry points: ``framewire gateway`` (``main.run``) and ``service.serve(settings)``;
settings and their ``FW_GATEWAY_*`` variables are listed in ``settings``.

How it works
    Desired state is the compacted registry ``fw.streams`` (StreamSpec keyed by stream id,
    tombstone = delete), read whole by every gateway. Gateways share streams through one
    consumer group on ``<prefix>gateway.slots`` (32 partitions): a stream is served by the
    owner of partition ``crc32(stream_id) % 32``; a dead gateway's slots move after the
    session timeout (6 s). Each served stream has a reader thread (open with capped
    exponential backoff, pace, decode) and an encoder thread (resize, JPEG, produce), joined
    by a bounded hand-off. Status (StreamStatus, compacted ``fw.status``) is published on
    every state change and every 2 s; deleting a stream tombstones its status.

Drop policy (counted per stream and reason in ``framewire_gateway_frames_dropped_total``,
in the stream status, and as DropRecords on ``fw.drops``; sequence numbers show the gaps)
    source_overrun   the encoder is behind a live source: the oldest waiting frame goes
    backpressure     the frames producer queue is full (broker slow or down): the new frame
                     goes, the encoder never waits
    delivery_failed  not acknowledged within ``FW_GATEWAY_DELIVERY_TIMEOUT_MS``
    corrupt_input    a frame or image the source gave could not be decoded

Frame numbering continues across restarts and moves: a stream starting on a gateway reads
the last Frame of its topic, and a gateway giving a stream away flushes first.
"""
