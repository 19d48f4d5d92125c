// placeholder: the Kafka issue fills this in.
