// libFuzzer harness for the media shim's open and decode path: each input is written to a temporary
// file and opened like a camera recording, then decoded, through `vg_source_next_frame` (inputs of
// even length) or through the adaptive path, `vg_source_read_packet` + `vg_source_decode_buffered`
// (odd length). At most 64 pictures per input, so one input cannot take long.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg_media.h"

static char path[64];

static void decode_every_frame(vg_source *source, char *error, size_t size) {
    for (int pictures = 0; pictures < 64; pictures++) {
        vg_frame frame;
        if (vg_source_next_frame(source, &frame, error, size) != VG_OK) return;
        // Touch the whole luma plane, as the detector does.
        unsigned sum = 0;
        for (int y = 0; frame.width > 0 && y < frame.height; y++) sum += frame.luma[(size_t)y * frame.luma_stride + frame.width - 1];
        (void)sum;
    }
}

static void decode_adaptively(vg_source *source, char *error, size_t size) {
    int pictures = 0;
    for (int packets = 0; packets < 256 && pictures < 64; packets++) {
        vg_packet_info packet;
        vg_status status = vg_source_read_packet(source, &packet, error, size);
        int drain = status == VG_END_OF_STREAM;
        if (status != VG_OK && !drain) return;
        // Decode keyframes alone and every fourth packet's backlog, as adaptive decoding does.
        if (drain || packet.is_keyframe || packets % 4 == 3) {
            int has_frame = 1;
            while (has_frame && pictures < 64) {
                vg_frame frame;
                if (vg_source_decode_buffered(source, &frame, drain, &has_frame, error, size) != VG_OK) return;
                pictures += has_frame;
            }
        }
        if (drain) return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/vigil-fuzz-media-%d", (int)getpid());
        vg_set_log_sink(NULL, -8);  // AV_LOG_QUIET
    }
    FILE *file = fopen(path, "wb");
    if (!file) abort();
    if (size && fwrite(data, 1, size, file) != size) abort();
    fclose(file);

    char error[256];
    vg_status status;
    vg_open_params params = {.url = path, .open_timeout_us = 2000000, .read_timeout_us = 2000000, .decoder_threads = 1};
    vg_source *source = vg_source_open(&params, NULL, &status, error, sizeof(error));
    if (source) {
        vg_stream_info info;
        vg_source_info(source, &info);
        if (size % 2 == 0) {
            decode_every_frame(source, error, sizeof(error));
        } else {
            decode_adaptively(source, error, sizeof(error));
        }
        vg_source_close(source);
    }
    unlink(path);
    return 0;
}
