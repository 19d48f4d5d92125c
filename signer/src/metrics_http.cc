// placeholder: the metrics issue fills this in.
#include "metrics_http.h"
