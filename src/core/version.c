#include "camnet/version.h"

const char *cn_version(void) { return CN_VERSION_STRING; }
