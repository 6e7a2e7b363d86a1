// Vigil's media shim over libavformat/libavcodec/libswscale (FFmpeg 5.1). See vg_media.h.
//
// Every blocking libav call runs under an interrupt callback that checks a stop token and a
// deadline on the monotonic clock. FFmpeg 5.1 hides an interrupt inside av_read_frame (it
// returns the last buffered packet as success), so the callback also sets a sticky flag that
// is checked after every call: a stall is reported at 1.0x the deadline, not 2x.
#include "vg_media.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vg_stop_token {
    atomic_int requested;
};

vg_stop_token *vg_stop_token_create(void) {
    vg_stop_token *token = calloc(1, sizeof(*token));
    if (token) atomic_init(&token->requested, 0);
    return token;
}

void vg_stop_token_destroy(vg_stop_token *token) { free(token); }

void vg_stop_token_set(vg_stop_token *token) { atomic_store(&token->requested, 1); }

int vg_stop_token_is_set(const vg_stop_token *token) {
    return atomic_load(&((vg_stop_token *)token)->requested);
}

/// Bounds of the GOP buffer: a stream whose keyframes are further apart than this (or that has
/// none, like intra-refresh streams) keeps only what the decoder still needs.
enum { VG_GOP_MAX_PACKETS = 600 };
static const size_t VG_GOP_MAX_BYTES = 64u << 20;

struct vg_source {
    AVFormatContext *format;
    AVCodecContext *decoder;
    AVPacket *packet;
    AVFrame *frame;
    int stream_index;
    AVRational time_base;

    vg_stop_token *stop;
    int64_t deadline_ns;    // monotonic; 0 = no deadline armed
    int64_t armed_us;       // the duration armed, for messages
    int deadline_fired;     // sticky until re-armed
    int stop_seen;
    const char *seen_url;   // the input's URL when the interrupt callback last ran: a change is a redirect
    int redirects;          // redirects followed while opening
    int redirects_exceeded; // sticky: the open was interrupted for redirecting too often
    int opening_rtsp;       // an RTSP open is under way (its invalid-data errors get a clearer message)
    int64_t read_timeout_us;
    int input_ended;        // the demuxer hit the end; the decoder is draining

    // The current GOP: packets from the last keyframe on (see "Adaptive decoding" in vg_media.h).
    AVPacket *gop[VG_GOP_MAX_PACKETS];  // slots allocated on first use, then reused
    int gop_count;          // packets held
    int gop_sent;           // packets of the GOP handed to the decoder since it last restarted
    size_t gop_bytes;
    int decoder_needs_restart;  // drained, or packets were skipped: flush and resend from gop[0]
    int gop_headless;           // gop[0] is not the GOP's keyframe (released when the GOP outgrew the buffer)
    int gop_pruned;             // decoded packets after the keyframe were released: no restart from gop[0]
    int awaiting_keyframe;      // the decoder cannot restart before the next keyframe: drop packets until then
    int drain_sent;
    int64_t gop_serial;         // counts keyframes: which GOP the buffer holds
    int64_t last_output_pts;    // of the last picture returned, AV_NOPTS_VALUE before any
    int64_t last_output_gop;    // the GOP that was being decoded when it was returned
    int64_t skip_through_pts;   // after a restart, pictures up to this one were returned already
    int64_t newest_packet_pts;  // of the newest packet demuxed, AV_NOPTS_VALUE before any
    vg_source_counters counters;

    // Pictures whose first plane is not 8-bit luma are converted to GRAY8 here.
    struct SwsContext *gray_scaler;
    uint8_t *gray_plane;
    int gray_stride, gray_width, gray_height;
};

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static void arm_deadline(vg_source *source, int64_t timeout_us) {
    source->deadline_fired = 0;
    source->armed_us = timeout_us;
    source->deadline_ns = timeout_us > 0 ? monotonic_ns() + timeout_us * 1000 : 0;
}

static int interrupt_requested(void *opaque) {
    vg_source *source = opaque;
    // libav's RTSP client follows 3xx answers without a limit, replacing the context's URL each time.
    const char *url = source->format ? source->format->url : NULL;
    if (url && url != source->seen_url) {
        if (source->seen_url && ++source->redirects > VG_MAX_REDIRECTS) source->redirects_exceeded = 1;
        source->seen_url = url;
    }
    if (source->redirects_exceeded) return 1;
    if (source->stop && vg_stop_token_is_set(source->stop)) {
        source->stop_seen = 1;
        return 1;
    }
    if (source->deadline_ns && monotonic_ns() >= source->deadline_ns) {
        source->deadline_fired = 1;
        return 1;
    }
    return 0;
}

static void write_error(char *error, size_t size, const char *format, ...) {
    if (!error || size == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(error, size, format, args);
    va_end(args);
}

void vg_error_string(int code, char *buffer, size_t size) {
    if (av_strerror(code, buffer, size) < 0) snprintf(buffer, size, "error %d", code);
}

/// Turns a libav return code into a status and message. The sticky flags win: after an
/// interrupt libav reports AVERROR_INVALIDDATA or AVERROR_EXIT, which would mislead.
static vg_status classify(vg_source *source, int code, const char *what, char *error, size_t size) {
    if (source->stop_seen || (source->stop && vg_stop_token_is_set(source->stop))) {
        write_error(error, size, "stopped");
        return VG_STOPPED;
    }
    if (source->redirects_exceeded) {
        write_error(error, size, "the camera redirected more than %d times; give its final address", VG_MAX_REDIRECTS);
        return VG_OTHER;
    }
    if (source->deadline_fired) {
        write_error(error, size, "no data within the %s deadline (%.1f s)", what, source->armed_us / 1e6);
        return VG_STALLED;
    }
    if (code == AVERROR(ENOMEM)) {
        write_error(error, size, "the %s needed a block over %u MiB (an oversized answer from the camera?) "
                    "or memory ran out", what, VG_MAX_ALLOCATION >> 20);
        return VG_OTHER;
    }
    if (code == AVERROR_INVALIDDATA && source->opening_rtsp) {
        // libav says no more when the SDP it was announced is over the allocation bound.
        write_error(error, size, "the camera's answer is not usable RTSP/SDP: malformed, or over the %u MiB "
                    "Vigil accepts", VG_MAX_ALLOCATION >> 20);
        return VG_INVALID_DATA;
    }
    char reason[AV_ERROR_MAX_STRING_SIZE];
    vg_error_string(code, reason, sizeof(reason));
    write_error(error, size, "%s", reason);
    switch (code) {
    case AVERROR_EOF: return VG_END_OF_STREAM;
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_FORBIDDEN: return VG_CREDENTIALS_REJECTED;
    case AVERROR_HTTP_NOT_FOUND:
    case AVERROR(ENOENT): return VG_NOT_FOUND;
    case AVERROR(ECONNREFUSED): return VG_CONNECTION_REFUSED;
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(ENETDOWN):
    case AVERROR(EHOSTDOWN):
    case AVERROR(ECONNRESET):
    case AVERROR(ECONNABORTED):
    case AVERROR(EPIPE): return VG_NETWORK_ERROR;
    case AVERROR(ETIMEDOUT): return VG_STALLED;
    case AVERROR_INVALIDDATA:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_STREAM_NOT_FOUND:
    case AVERROR_PATCHWELCOME: return VG_INVALID_DATA;
    default: return VG_OTHER;
    }
}

static int is_rtsp_url(const char *url) {
    return av_strstart(url, "rtsp://", NULL) || av_strstart(url, "rtsps://", NULL);
}

/// Fills the option dictionary: RTSP defaults first, then the caller's options override them.
static void build_options(const vg_open_params *params, AVDictionary **options) {
    if (is_rtsp_url(params->url)) {
        av_dict_set(options, "rtsp_transport", "tcp", 0);
        av_dict_set(options, "allowed_media_types", "video", 0);
    }
    for (size_t i = 0; i < params->option_count; i++) {
        av_dict_set(options, params->option_keys[i], params->option_values[i], 0);
    }
}

static vg_status open_decoder(vg_source *source, const vg_open_params *params, char *error, size_t size) {
    const AVCodec *codec = NULL;
    int index = av_find_best_stream(source->format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (index < 0 || !codec) {
        write_error(error, size, index == AVERROR_DECODER_NOT_FOUND ? "no decoder for the video codec"
                                                                      : "no video stream in the input");
        return VG_INVALID_DATA;
    }
    AVStream *stream = source->format->streams[index];
    for (unsigned i = 0; i < source->format->nb_streams; i++) {
        if ((int)i != index) source->format->streams[i]->discard = AVDISCARD_ALL;
    }
    source->stream_index = index;
    source->time_base = stream->time_base;
    source->decoder = avcodec_alloc_context3(codec);
    if (!source->decoder) {
        write_error(error, size, "out of memory");
        return VG_OTHER;
    }
    int code = avcodec_parameters_to_context(source->decoder, stream->codecpar);
    if (code < 0) return classify(source, code, "open", error, size);
    source->decoder->thread_count = params->decoder_threads;
    source->decoder->pkt_timebase = stream->time_base;
    if (params->skip_loop_filter) source->decoder->skip_loop_filter = AVDISCARD_ALL;
    code = avcodec_open2(source->decoder, codec, NULL);
    if (code < 0) return classify(source, code, "open", error, size);
    source->packet = av_packet_alloc();
    source->frame = av_frame_alloc();
    if (!source->packet || !source->frame) {
        write_error(error, size, "out of memory");
        return VG_OTHER;
    }
    return VG_OK;
}

vg_source *vg_source_open(const vg_open_params *params, vg_stop_token *stop, vg_status *status, char *error,
                          size_t error_size) {
    static atomic_flag allocation_bounded = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&allocation_bounded)) av_max_alloc(VG_MAX_ALLOCATION);
    vg_source *source = calloc(1, sizeof(*source));
    AVDictionary *options = NULL;
    vg_status result = VG_OTHER;
    if (!source || !(source->format = avformat_alloc_context())) {
        write_error(error, error_size, "out of memory");
        goto fail;
    }
    source->stop = stop;
    source->read_timeout_us = params->read_timeout_us;
    source->last_output_pts = AV_NOPTS_VALUE;
    source->skip_through_pts = AV_NOPTS_VALUE;
    source->newest_packet_pts = AV_NOPTS_VALUE;
    source->gop_headless = 1;  // until the first keyframe
    source->format->interrupt_callback.callback = interrupt_requested;
    source->format->interrupt_callback.opaque = source;
    build_options(params, &options);

    arm_deadline(source, params->open_timeout_us);
    source->opening_rtsp = is_rtsp_url(params->url);
    int code = avformat_open_input(&source->format, params->url, NULL, &options);
    if (code < 0) {  // libav freed the context and set it to NULL
        result = classify(source, code, "open", error, error_size);
        goto fail;
    }
    source->opening_rtsp = 0;
    const AVDictionaryEntry *leftover = av_dict_get(options, "", NULL, AV_DICT_IGNORE_SUFFIX);
    if (leftover) {
        write_error(error, error_size, "libav does not recognise the option '%s' for this input", leftover->key);
        result = VG_UNKNOWN_OPTION;
        goto fail;
    }
    code = avformat_find_stream_info(source->format, NULL);
    if (code < 0 || source->deadline_fired || source->stop_seen) {
        result = classify(source, code < 0 ? code : AVERROR_EXIT, "open", error, error_size);
        goto fail;
    }
    result = open_decoder(source, params, error, error_size);
    if (result != VG_OK) goto fail;
    av_dict_free(&options);
    source->deadline_ns = 0;
    *status = VG_OK;
    return source;

fail:
    av_dict_free(&options);
    vg_source_close(source);
    *status = result;
    return NULL;
}

void vg_source_info(const vg_source *source, vg_stream_info *info) {
    memset(info, 0, sizeof(*info));
    const AVStream *stream = source->format->streams[source->stream_index];
    av_strlcpy(info->codec_name, source->decoder->codec->name, sizeof(info->codec_name));
    info->width = source->decoder->width;
    info->height = source->decoder->height;
    AVRational rate = stream->avg_frame_rate.num ? stream->avg_frame_rate : stream->r_frame_rate;
    info->frames_per_second = rate.num && rate.den ? av_q2d(rate) : 0;
}

static int has_luma_first_plane(enum AVPixelFormat format) {
    switch (format) {
    case AV_PIX_FMT_YUV420P: case AV_PIX_FMT_YUVJ420P: case AV_PIX_FMT_YUV422P: case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUV444P: case AV_PIX_FMT_YUVJ444P: case AV_PIX_FMT_YUV440P: case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUV411P: case AV_PIX_FMT_YUVJ411P: case AV_PIX_FMT_YUV410P: case AV_PIX_FMT_YUVA420P:
    case AV_PIX_FMT_GRAY8: case AV_PIX_FMT_NV12: case AV_PIX_FMT_NV21: case AV_PIX_FMT_NV16:
        return 1;
    default:
        return 0;
    }
}

/// Converts a picture without an 8-bit luma plane (RGB, 10-bit, ...) to GRAY8 in a buffer that is
/// reallocated only when the size changes.
static vg_status convert_to_gray(vg_source *source, const AVFrame *picture, char *error, size_t size) {
    if (picture->width != source->gray_width || picture->height != source->gray_height) {
        av_freep(&source->gray_plane);
        source->gray_stride = FFALIGN(picture->width, 64);
        source->gray_plane = av_malloc((size_t)source->gray_stride * picture->height);
        source->gray_width = picture->width;
        source->gray_height = picture->height;
    }
    source->gray_scaler = sws_getCachedContext(source->gray_scaler, picture->width, picture->height, picture->format,
                                               picture->width, picture->height, AV_PIX_FMT_GRAY8, SWS_POINT, NULL,
                                               NULL, NULL);
    if (!source->gray_plane || !source->gray_scaler) {
        write_error(error, size, "cannot convert pixel format %s", av_get_pix_fmt_name(picture->format));
        return VG_INVALID_DATA;
    }
    uint8_t *planes[4] = {source->gray_plane, NULL, NULL, NULL};
    int strides[4] = {source->gray_stride, 0, 0, 0};
    sws_scale(source->gray_scaler, (const uint8_t *const *)picture->data, picture->linesize, 0, picture->height,
              planes, strides);
    return VG_OK;
}

static vg_status fill_frame(vg_source *source, vg_frame *out, char *error, size_t size) {
    const AVFrame *picture = source->frame;
    if (has_luma_first_plane(picture->format)) {
        out->luma = picture->data[0];
        out->luma_stride = picture->linesize[0];
    } else {
        vg_status converted = convert_to_gray(source, picture, error, size);
        if (converted != VG_OK) return converted;
        out->luma = source->gray_plane;
        out->luma_stride = source->gray_stride;
    }
    out->width = picture->width;
    out->height = picture->height;
    int64_t pts = picture->best_effort_timestamp;
    out->pts_seconds = pts == AV_NOPTS_VALUE ? NAN : pts * av_q2d(source->time_base);
    out->is_keyframe = picture->key_frame;
    out->is_corrupt = (picture->flags & AV_FRAME_FLAG_CORRUPT) || picture->decode_error_flags != 0;
    out->packet_size = picture->pkt_size;
    return VG_OK;
}

// MARK: - Demuxing into the GOP buffer, decoding from it

/// Releases the first `count` packets of the GOP buffer, moving the rest to the front.
static void release_gop_packets(vg_source *source, int count) {
    for (int i = 0; i < count; i++) {
        source->gop_bytes -= (size_t)source->gop[i]->size;
        av_packet_unref(source->gop[i]);
    }
    if (source->gop_sent < count) source->counters.packets_skipped += count - source->gop_sent;
    // The emptied slots go right after the packets still held, so they are the next ones reused.
    AVPacket *released[VG_GOP_MAX_PACKETS];
    int kept = source->gop_count - count;
    memcpy(released, source->gop, sizeof(AVPacket *) * count);
    memmove(source->gop, source->gop + count, sizeof(AVPacket *) * kept);
    memcpy(source->gop + kept, released, sizeof(AVPacket *) * count);
    source->gop_count -= count;
    source->gop_sent = source->gop_sent > count ? source->gop_sent - count : 0;
}

/// Makes room for `packet` in the GOP buffer. A keyframe starts a new GOP; the decoder restarts when
/// packets of the old one were skipped. When a GOP outgrows the buffer, packets already decoded are
/// released; if none were, the GOP is given up (the decoder restarts at the next keyframe).
static void make_room_for(vg_source *source, const AVPacket *packet) {
    if (packet->flags & AV_PKT_FLAG_KEY) {
        if (source->gop_sent < source->gop_count) source->decoder_needs_restart = 1;
        release_gop_packets(source, source->gop_count);
        source->gop_headless = 0;
        source->gop_pruned = 0;
        source->awaiting_keyframe = 0;
        source->gop_serial++;
        return;
    }
    if (source->gop_count < VG_GOP_MAX_PACKETS && source->gop_bytes + (size_t)packet->size <= VG_GOP_MAX_BYTES) return;
    source->gop_headless = 1;
    if (source->gop_sent > 0 && !source->decoder_needs_restart) {
        release_gop_packets(source, source->gop_sent);
    } else {
        release_gop_packets(source, source->gop_count);
        source->decoder_needs_restart = 1;
    }
}

/// CPU time of the calling thread, in nanoseconds.
static int64_t thread_cpu_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static vg_status demux_packet_untimed(vg_source *source, vg_packet_info *info, char *error, size_t size);

/// Demuxes the next packet of the video stream into the GOP buffer, counting the thread's CPU time.
static vg_status demux_packet(vg_source *source, vg_packet_info *info, char *error, size_t size) {
    int64_t start = thread_cpu_ns();
    vg_status status = demux_packet_untimed(source, info, error, size);
    source->counters.demux_cpu_ns += thread_cpu_ns() - start;
    return status;
}

static vg_status demux_packet_untimed(vg_source *source, vg_packet_info *info, char *error, size_t size) {
    AVPacket *packet = source->packet;
    for (;;) {
        int code = av_read_frame(source->format, packet);
        if (source->deadline_fired || source->stop_seen) {
            av_packet_unref(packet);
            return classify(source, AVERROR_EXIT, "read", error, size);
        }
        if (code == AVERROR(EAGAIN)) continue;
        if (code == AVERROR_EOF || (code < 0 && source->format->pb && avio_feof(source->format->pb))) {
            source->input_ended = 1;
            write_error(error, size, "end of stream");
            return VG_END_OF_STREAM;
        }
        if (code < 0) return classify(source, code, "read", error, size);
        if (packet->stream_index == source->stream_index) break;
        av_packet_unref(packet);
    }
    source->counters.packets_read++;
    if (packet->pts != AV_NOPTS_VALUE) source->newest_packet_pts = packet->pts;
    info->size = packet->size;
    info->is_keyframe = (packet->flags & AV_PKT_FLAG_KEY) != 0;
    info->pts_seconds = packet->pts == AV_NOPTS_VALUE ? NAN : packet->pts * av_q2d(source->time_base);
    make_room_for(source, packet);
    if (source->awaiting_keyframe) {
        source->counters.packets_skipped++;
        av_packet_unref(packet);
        return VG_OK;
    }
    int slot = source->gop_count;
    if (!source->gop[slot] && !(source->gop[slot] = av_packet_alloc())) {
        av_packet_unref(packet);
        write_error(error, size, "out of memory");
        return VG_OTHER;
    }
    av_packet_move_ref(source->gop[slot], packet);
    source->gop_count++;
    source->gop_bytes += (size_t)source->gop[slot]->size;
    return VG_OK;
}

/// Flushes the decoder and rewinds to the GOP's keyframe; pictures already returned will be skipped.
/// Without the keyframe, packets are dropped until the next one.
static void restart_decoder(vg_source *source) {
    avcodec_flush_buffers(source->decoder);
    source->decoder_needs_restart = 0;
    source->drain_sent = 0;
    if (source->gop_headless || source->gop_pruned) {
        release_gop_packets(source, source->gop_count);
        source->awaiting_keyframe = 1;
    }
    source->gop_sent = 0;
    // Only pictures of this GOP can come again; timestamps may restart in a later one.
    source->skip_through_pts = source->last_output_gop == source->gop_serial ? source->last_output_pts : AV_NOPTS_VALUE;
}

static vg_status decode_buffered(vg_source *source, vg_frame *frame, int drain, int *has_frame, char *error,
                                 size_t size) {
    *has_frame = 0;
    if (source->decoder_needs_restart) restart_decoder(source);
    for (;;) {
        int code = avcodec_receive_frame(source->decoder, source->frame);
        if (code == 0) {
            int64_t pts = source->frame->best_effort_timestamp;
            if (source->skip_through_pts != AV_NOPTS_VALUE && pts != AV_NOPTS_VALUE && pts <= source->skip_through_pts) {
                av_frame_unref(source->frame);
                continue;
            }
            source->skip_through_pts = AV_NOPTS_VALUE;
            if (pts != AV_NOPTS_VALUE) source->last_output_pts = pts;
            source->last_output_gop = source->gop_serial;
            *has_frame = 1;
            return fill_frame(source, frame, error, size);
        }
        if (code == AVERROR_EOF) {  // drained: at the end of the input, or to get a held-back picture
            if (source->gop_sent >= source->gop_count) {
                if (!source->input_ended) source->decoder_needs_restart = 1;
                return VG_OK;
            }
            restart_decoder(source);  // packets came in since the drain: decode them
            continue;
        }
        if (code != AVERROR(EAGAIN)) return classify(source, code, "read", error, size);
        if (source->gop_sent < source->gop_count) {
            AVPacket *packet = source->gop[source->gop_sent];
            if (avcodec_send_packet(source->decoder, packet) < 0) source->counters.packets_rejected++;
            // Only the keyframe is needed again (to restart after a drain): free what follows it,
            // so that decoding every frame holds one picture's packet, not a GOP's.
            if (source->gop_sent > 0 && !drain) {
                source->gop_bytes -= (size_t)packet->size;
                av_packet_unref(packet);
                source->gop_pruned = 1;
            }
            source->gop_sent++;
            source->counters.packets_decoded++;
            continue;
        }
        if (!drain || source->drain_sent) return VG_OK;
        avcodec_send_packet(source->decoder, NULL);
        source->drain_sent = 1;
    }
}

vg_status vg_source_next_frame(vg_source *source, vg_frame *frame, char *error, size_t error_size) {
    arm_deadline(source, source->read_timeout_us);
    for (;;) {
        int has_frame = 0;
        vg_status status = decode_buffered(source, frame, source->input_ended, &has_frame, error, error_size);
        if (status != VG_OK || has_frame) return status;
        if (source->input_ended) {
            write_error(error, error_size, "end of stream");
            return VG_END_OF_STREAM;
        }
        vg_packet_info packet;
        status = demux_packet(source, &packet, error, error_size);
        if (status != VG_OK && status != VG_END_OF_STREAM) return status;
    }
}

vg_status vg_source_read_packet(vg_source *source, vg_packet_info *packet, char *error, size_t error_size) {
    if (source->input_ended) {
        write_error(error, error_size, "end of stream");
        return VG_END_OF_STREAM;
    }
    arm_deadline(source, source->read_timeout_us);
    return demux_packet(source, packet, error, error_size);
}

vg_status vg_source_decode_buffered(vg_source *source, vg_frame *frame, int drain, int *has_frame, char *error,
                                    size_t error_size) {
    return decode_buffered(source, frame, drain || source->input_ended, has_frame, error, error_size);
}

void vg_source_get_counters(const vg_source *source, vg_source_counters *counters) { *counters = source->counters; }

double vg_source_newest_packet_seconds(const vg_source *source) {
    return source->newest_packet_pts == AV_NOPTS_VALUE ? NAN : source->newest_packet_pts * av_q2d(source->time_base);
}

void vg_source_close(vg_source *source) {
    if (!source) return;
    av_frame_free(&source->frame);
    av_packet_free(&source->packet);
    for (int i = 0; i < VG_GOP_MAX_PACKETS; i++) av_packet_free(&source->gop[i]);
    avcodec_free_context(&source->decoder);
    avformat_close_input(&source->format);
    sws_freeContext(source->gray_scaler);
    av_freep(&source->gray_plane);
    free(source);
}

// MARK: - Logging

static vg_log_sink log_sink;
static int log_max_level = AV_LOG_WARNING;

/// libav calls this with line fragments; lines are assembled per thread and handed over whole.
static void forward_log(void *context, int level, const char *format, va_list args) {
    if (level > log_max_level || !log_sink) return;
    static _Thread_local char pending[2048];
    static _Thread_local size_t pending_length;
    static _Thread_local int print_prefix = 1;
    char fragment[1024];
    av_log_format_line2(context, level, format, args, fragment, sizeof(fragment), &print_prefix);
    size_t length = strlen(fragment);
    if (pending_length + length >= sizeof(pending)) length = sizeof(pending) - 1 - pending_length;
    memcpy(pending + pending_length, fragment, length);
    pending_length += length;
    pending[pending_length] = '\0';

    char *line = pending;
    char *newline;
    while ((newline = strchr(line, '\n')) != NULL) {
        *newline = '\0';
        if (*line) log_sink(level, line);
        line = newline + 1;
    }
    size_t rest = strlen(line);
    if (rest == sizeof(pending) - 1) {  // a line longer than the buffer: hand it over as it is
        log_sink(level, line);
        rest = 0;
    }
    memmove(pending, line, rest);
    pending_length = rest;
    pending[rest] = '\0';
}

void vg_set_log_sink(vg_log_sink sink, int max_level) {
    log_sink = sink;
    log_max_level = max_level;
    av_log_set_level(max_level);
    av_log_set_callback(sink ? forward_log : av_log_default_callback);
}

// MARK: - JPEG snapshots

/// Sets the pixels of luma row `y` from `x0` to `x1` (inclusive) to `value`, clipped to the picture.
static void fill_span(AVFrame *picture, int y, int x0, int x1, uint8_t value) {
    if (y < 0 || y >= picture->height) return;
    if (x0 < 0) x0 = 0;
    if (x1 >= picture->width) x1 = picture->width - 1;
    if (x1 < x0) return;
    memset(picture->data[0] + (size_t)y * picture->linesize[0] + x0, value, (size_t)(x1 - x0 + 1));
}

/// Draws a 1-px rectangle outline on the luma plane, clipped to the picture.
static void draw_rectangle(AVFrame *picture, int left, int top, int right, int bottom, uint8_t value) {
    if (right < left || bottom < top) return;
    fill_span(picture, top, left, right, value);
    fill_span(picture, bottom, left, right, value);
    int first = top < 0 ? 0 : top, last = bottom >= picture->height ? picture->height - 1 : bottom;
    for (int y = first; y <= last; y++) {
        fill_span(picture, y, left, left, value);
        fill_span(picture, y, right, right, value);
    }
}

/// Fills `picture` (YUVJ420P, allocated) with `luma`, neutral chroma, the optional box outline and,
/// last, black wherever `burn` (one byte per pixel, optional) is non-zero.
static void fill_snapshot_picture(AVFrame *picture, const uint8_t *luma, int stride, const vg_box *box,
                                  const uint8_t *burn) {
    av_image_copy_plane(picture->data[0], picture->linesize[0], luma, stride, picture->width, picture->height);
    int chroma_height = (picture->height + 1) / 2;
    for (int plane = 1; plane <= 2; plane++) {
        memset(picture->data[plane], 128, (size_t)picture->linesize[plane] * chroma_height);
    }
    if (box) {
        int right = box->x + box->width - 1, bottom = box->y + box->height - 1;
        draw_rectangle(picture, box->x, box->y, right, bottom, 255);
        draw_rectangle(picture, box->x + 1, box->y + 1, right - 1, bottom - 1, 0);
    }
    if (!burn) return;
    for (int y = 0; y < picture->height; y++) {
        uint8_t *row = picture->data[0] + (size_t)y * picture->linesize[0];
        const uint8_t *mask = burn + (size_t)y * picture->width;
        for (int x = 0; x < picture->width; x++) {
            if (mask[x]) row[x] = 0;
        }
    }
}

vg_status vg_jpeg_encode_luma(const uint8_t *luma, int stride, int width, int height, int qscale, const vg_box *box,
                              const uint8_t *burn, uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    *out = NULL;
    *out_size = 0;
    if (!luma || width <= 0 || height <= 0 || stride < width) {
        write_error(error, error_size, "not a picture: %dx%d with stride %d", width, height, stride);
        return VG_INVALID_DATA;
    }
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec) {
        write_error(error, error_size, "libavcodec has no MJPEG encoder");
        return VG_OTHER;
    }
    vg_status status = VG_OTHER;
    const char *step = "allocate the encoder";
    AVCodecContext *encoder = avcodec_alloc_context3(codec);
    AVFrame *picture = av_frame_alloc();
    AVPacket *packet = av_packet_alloc();
    int code = AVERROR(ENOMEM);
    if (!encoder || !picture || !packet) goto done;

    encoder->width = width;
    encoder->height = height;
    encoder->pix_fmt = AV_PIX_FMT_YUVJ420P;
    encoder->color_range = AVCOL_RANGE_JPEG;
    encoder->time_base = (AVRational){1, 1};
    encoder->thread_count = 1;
    encoder->flags |= AV_CODEC_FLAG_QSCALE;
    encoder->global_quality = FF_QP2LAMBDA * (qscale < 2 ? 2 : qscale > 31 ? 31 : qscale);
    step = "open the MJPEG encoder";
    if ((code = avcodec_open2(encoder, codec, NULL)) < 0) goto done;

    picture->format = AV_PIX_FMT_YUVJ420P;
    picture->width = width;
    picture->height = height;
    picture->color_range = AVCOL_RANGE_JPEG;
    step = "allocate the picture";
    if ((code = av_frame_get_buffer(picture, 0)) < 0) goto done;
    fill_snapshot_picture(picture, luma, stride, box, burn);
    picture->quality = encoder->global_quality;
    picture->pts = 0;

    step = "encode the picture";
    if ((code = avcodec_send_frame(encoder, picture)) < 0) goto done;
    if ((code = avcodec_receive_packet(encoder, packet)) < 0) goto done;
    step = "copy the JPEG";
    code = AVERROR(ENOMEM);
    if (!(*out = av_malloc(packet->size))) goto done;
    memcpy(*out, packet->data, packet->size);
    *out_size = packet->size;
    status = VG_OK;

done:
    if (status != VG_OK) {
        char reason[AV_ERROR_MAX_STRING_SIZE];
        vg_error_string(code, reason, sizeof(reason));
        write_error(error, error_size, "cannot %s: %s", step, reason);
    }
    av_packet_free(&packet);
    av_frame_free(&picture);
    avcodec_free_context(&encoder);
    return status;
}

void vg_free(void *pointer) { av_free(pointer); }
