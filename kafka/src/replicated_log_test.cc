// placeholder: the Kafka issue fills this in.
#include <gtest/gtest.h>
