// placeholder: the metrics issue fills this in.
#pragma once
