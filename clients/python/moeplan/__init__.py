"""Python client of moeplan: the wire codec of its Kafka topics."""
