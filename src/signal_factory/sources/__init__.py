"""Record sources (IO adapters): JSON-lines files/stdin; Kafka lives in transports/."""
