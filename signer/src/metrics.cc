// placeholder: the metrics issue fills this in.
#include "metrics.h"
