// kafka-dev-broker: placeholder until the Kafka issue fills it in.
int main() { return 1; }
