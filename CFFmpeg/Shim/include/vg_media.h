// Vigil's media shim: the only code that touches libavformat, libavcodec and libswscale.
//
// Swift sees opaque handles and plain C structs. No FFmpeg type or macro crosses this header.
// Threading: a `vg_source` belongs to one thread (the capture thread that opened it). A
// `vg_stop_token` may be set from any thread; it ends a blocked open or read within ~100 ms.
#ifndef VG_MEDIA_H
#define VG_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a shim call. `VG_OK` is success; every other value is a classified failure.
typedef enum {
    VG_OK = 0,
    /// The stream ended (end of file, or the server closed the session).
    VG_END_OF_STREAM = 1,
    /// A deadline fired: the open took longer than the open deadline, or no frame came
    /// within the read deadline.
    VG_STALLED = 2,
    /// The stop token was set.
    VG_STOPPED = 3,
    /// The server answered 401 or 403.
    VG_CREDENTIALS_REJECTED = 4,
    /// The server answered 404, or a file does not exist.
    VG_NOT_FOUND = 5,
    /// Nothing listens at the address (the camera is down or rebooting).
    VG_CONNECTION_REFUSED = 6,
    /// The input is not decodable video (corrupt data, no video stream, unsupported codec).
    VG_INVALID_DATA = 7,
    /// An option was not recognised by libav (it would have been silently ignored).
    VG_UNKNOWN_OPTION = 8,
    /// Anything else (permission denied, out of memory, too many redirects, ...).
    VG_OTHER = 9,
    /// The network failed on the way to the camera: no route to host, network unreachable,
    /// connection reset or aborted, broken pipe.
    VG_NETWORK_ERROR = 10,
} vg_status;

/// At most this many RTSP redirects (3xx) are followed while opening; one more fails the open.
#define VG_MAX_REDIRECTS 2
/// No single block libav allocates may exceed this many bytes (set once, process-wide, by the first
/// `vg_source_open`): a camera announcing a 200 MB SDP fails the open instead of being buffered whole.
/// Larger than any picture plane up to 8K (33 MB of luma).
#define VG_MAX_ALLOCATION (40u << 20)

/// Cancels blocking calls of any source it is attached to. Thread-safe.
typedef struct vg_stop_token vg_stop_token;

vg_stop_token *vg_stop_token_create(void);
void vg_stop_token_destroy(vg_stop_token *token);
/// Requests a stop; safe to call from any thread, any number of times.
void vg_stop_token_set(vg_stop_token *token);
int vg_stop_token_is_set(const vg_stop_token *token);

/// What to open and how long each blocking step may take.
typedef struct {
    /// A file path, `file:` URL, or `rtsp://` / `rtsps://` URL (credentials percent-encoded in userinfo).
    const char *url;
    /// Extra libav options as parallel arrays; RTSP sources get `rtsp_transport=tcp` and
    /// `allowed_media_types=video` unless given here. Unconsumed options fail the open.
    const char *const *option_keys;
    const char *const *option_values;
    size_t option_count;
    /// Deadline for opening the input and finding the stream info, in microseconds (0 = none).
    int64_t open_timeout_us;
    /// Deadline for each decoded frame (`vg_source_next_frame`) or packet (`vg_source_read_packet`),
    /// in microseconds (0 = none).
    int64_t read_timeout_us;
    /// Decoder threads (1 is best when cameras outnumber cores; 0 lets libav choose).
    int decoder_threads;
    /// Skip the H.264/HEVC loop filter (cheaper decoding for analysis-only use).
    int skip_loop_filter;
} vg_open_params;

/// What the opened video stream says about itself.
typedef struct {
    char codec_name[32];
    int width;
    int height;
    /// Average frame rate, or 0 when unknown.
    double frames_per_second;
} vg_stream_info;

/// One decoded picture. The luma pointer is owned by the source and valid until the next
/// call of `vg_source_next_frame` or `vg_source_close` on it.
typedef struct {
    const uint8_t *luma;
    int luma_stride;
    int width;
    int height;
    /// Presentation time in seconds (stream time base), or NaN when the stream has none.
    double pts_seconds;
    int is_keyframe;
    /// The decoder flagged this picture as damaged (concealment may look like motion).
    int is_corrupt;
    /// Size in bytes of the compressed packet that produced this picture.
    int packet_size;
} vg_frame;

typedef struct vg_source vg_source;

/// Opens and probes `params->url`, then prepares a decoder for its best video stream.
/// On failure returns NULL, writes the status to `*status` and a readable reason (never
/// containing the URL) to `error` (`error_size` bytes, always NUL-terminated).
vg_source *vg_source_open(const vg_open_params *params, vg_stop_token *stop, vg_status *status, char *error,
                          size_t error_size);

/// Describes the opened video stream.
void vg_source_info(const vg_source *source, vg_stream_info *info);

/// Decodes the next picture. On `VG_OK`, fills `*frame`. Otherwise the status says why
/// (`VG_END_OF_STREAM` once everything was drained) and `error` holds a readable reason.
/// Corrupt packets do not end the stream: they are skipped or flagged.
vg_status vg_source_next_frame(vg_source *source, vg_frame *frame, char *error, size_t error_size);

// Adaptive decoding: demux and decode separately.
//
// The source keeps the packets of the current GOP (from its keyframe on) in a buffer. A caller
// may read packets without decoding them, decode only keyframes, and later decode the buffered
// packets to catch up; the shim restarts the decoder from the GOP's keyframe when it has to and
// never returns a picture twice. `vg_source_next_frame` is read-then-decode over the same buffer.

/// One compressed packet of the video stream, as demuxed.
typedef struct {
    /// Size in bytes.
    int size;
    int is_keyframe;
    /// Presentation time in seconds (stream time base), or NaN when the packet has none.
    double pts_seconds;
} vg_packet_info;

/// Reads the next packet of the video stream into the GOP buffer without decoding it. A keyframe
/// starts a new GOP (the previous one's packets are released). Returns `VG_END_OF_STREAM` at the
/// end of the input, `VG_STALLED` when no packet came within the read deadline.
vg_status vg_source_read_packet(vg_source *source, vg_packet_info *packet, char *error, size_t error_size);

/// Decodes buffered packets not decoded yet, in order, until a picture comes out: then `*has_frame`
/// is 1 and `*frame` is filled. `*has_frame` is 0 when every buffered packet is decoded and the
/// decoder holds no picture. With `drain`, the decoder is also asked for the pictures it holds back;
/// packets read after that are decoded by restarting from the GOP's keyframe, skipping pictures
/// already returned. Packets after the keyframe are freed once decoded, so a restart after a drain
/// that follows them waits for the next keyframe: drain right after a keyframe, or at the end.
vg_status vg_source_decode_buffered(vg_source *source, vg_frame *frame, int drain, int *has_frame, char *error,
                                    size_t error_size);

/// What a source has done so far.
typedef struct {
    /// Video packets demuxed.
    int64_t packets_read;
    /// Packets handed to the decoder (a packet decoded again after a restart counts again).
    int64_t packets_decoded;
    /// Packets the decoder rejected as invalid (corrupt input).
    int64_t packets_rejected;
    /// Packets released from the GOP buffer without ever being decoded.
    int64_t packets_skipped;
    /// CPU time of the calling thread spent demuxing (network reads, RTP depacketizing, the GOP
    /// buffer), in nanoseconds: two reads of CLOCK_THREAD_CPUTIME_ID per packet.
    int64_t demux_cpu_ns;
} vg_source_counters;

void vg_source_get_counters(const vg_source *source, vg_source_counters *counters);

/// Presentation time of the newest packet demuxed, in seconds (the live edge), or NaN before any.
double vg_source_newest_packet_seconds(const vg_source *source);

/// Closes the input and frees everything the source holds.
void vg_source_close(vg_source *source);

/// Receives each line libav logs, whole and without the trailing newline. `level` is
/// libav's (8 fatal, 16 error, 24 warning, 32 info, 40 verbose, 48 debug). Called from any
/// thread that runs libav code. The line may contain credentials: redact before printing.
typedef void (*vg_log_sink)(int level, const char *line);

/// Routes libav's log through `sink`, dropping lines above `max_level`.
void vg_set_log_sink(vg_log_sink sink, int max_level);

/// libav's readable text for a negative error code.
void vg_error_string(int code, char *buffer, size_t size);

/// A picture region in pixels: `x`, `y` of the top-left corner, `width`, `height`.
typedef struct {
    int x, y, width, height;
} vg_box;

/// Encodes a grayscale picture as a JPEG through libavcodec's MJPEG encoder (full-range YUV 4:2:0
/// with neutral chroma). When `box` is not NULL its outline is drawn 2 px wide inside the box
/// (outer pixel white, inner pixel black, so it shows on any background), clipped to the picture;
/// `luma` is not modified. When `burn` is not NULL (`width` x `height` bytes, no padding), every
/// pixel whose byte is non-zero is made black after the outline is drawn (privacy masks: nothing
/// behind them reaches the file). `qscale` is libav's quantiser scale, 2 (best) to 31 (smallest).
/// On `VG_OK`, `*out` holds `*out_size` bytes that the caller releases with `vg_free`; otherwise
/// `*out` is NULL and `error` holds a readable reason. Thread-safe (no shared state).
vg_status vg_jpeg_encode_luma(const uint8_t *luma, int stride, int width, int height, int qscale, const vg_box *box,
                              const uint8_t *burn,
                              uint8_t **out, size_t *out_size, char *error, size_t error_size);

/// Frees memory the shim handed to the caller (`vg_jpeg_encode_luma`'s output).
void vg_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
