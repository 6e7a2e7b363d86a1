// Carries the pkg-config include paths of libav* to the C shim target. Swift never imports this module directly.
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
