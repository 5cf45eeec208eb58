/*
 * A stand-in for libnvidia-ml.so.1 that speaks the real NVML C ABI (nvml.h, CUDA 12/13 era):
 * the same symbol names, argument types, struct layouts and nvmlReturn_t codes that envsnap's
 * binding (envsnap/probes/_nvmllib.py) and pynvml (nvidia-ml-py) call through ctypes. The machine it describes comes from environment
 * variables read at nvmlInit (see tests/fakes/nvml.py for the helper that writes them):
 *
 *   FAKE_NVML_INIT_ERROR=9        nvmlInit returns this code (9 driver not loaded, 4 no permission)
 *   FAKE_NVML_GPUS=8              device count (default 1, at most 64)
 *   FAKE_NVML_DRIVER=535.104.05   nvmlSystemGetDriverVersion
 *   FAKE_NVML_CUDA=12020          nvmlSystemGetCudaDriverVersion(_v2)
 *   FAKE_NVML_LOG=/path           append "nvmlInit" / "nvmlShutdown" lines there (call tracing)
 * per device, as FAKE_NVML_<KEY>_<index> or for all devices as FAKE_NVML_<KEY>:
 *   NAME, UUID, MEMORY_MIB, CC ("8.0"), ARCH (enum; "none" = NOT_SUPPORTED; unset = from CC),
 *   MIG / ECC / SM_COUNT (unset = NOT_SUPPORTED, as on GPUs without the feature;
 *   SM_COUNT="error:N" makes nvmlDeviceGetAttributes_v2 return code N).
 * Build: gcc -shared -fPIC -O2 -o libnvidia-ml.so.1 fake_nvml.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_UNKNOWN 999

#define MAX_GPUS 64

typedef struct nvmlDevice_st {
    unsigned int index;
} *nvmlDevice_t;

typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int multiprocessorCount;
    unsigned int sharedCopyEngineCount;
    unsigned int sharedDecoderCount;
    unsigned int sharedEncoderCount;
    unsigned int sharedJpegCount;
    unsigned int sharedOfaCount;
    unsigned int gpuInstanceSliceCount;
    unsigned int computeInstanceSliceCount;
    unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

static struct nvmlDevice_st devices[MAX_GPUS];
static unsigned int device_count;
static int initialized;

static const char *cfg(const char *key, int index) {
    char name[96];
    const char *value;
    if (index >= 0) {
        snprintf(name, sizeof name, "FAKE_NVML_%s_%d", key, index);
        value = getenv(name);
        if (value != NULL) return value;
    }
    snprintf(name, sizeof name, "FAKE_NVML_%s", key);
    return getenv(name);
}

static const char *cfg_or(const char *key, int index, const char *fallback) {
    const char *value = cfg(key, index);
    return value != NULL ? value : fallback;
}

static nvmlReturn_t copy_string(const char *text, char *out, unsigned int length) {
    if (out == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, text);
    return NVML_SUCCESS;
}

static nvmlReturn_t check_device(nvmlDevice_t device) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (device < devices || device >= devices + device_count) return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

static void compute_capability(int index, int *major, int *minor) {
    const char *cc = cfg_or("CC", index, "8.0");
    *major = 0;
    *minor = 0;
    sscanf(cc, "%d.%d", major, minor);
}

static void trace(const char *call) {
    const char *path = getenv("FAKE_NVML_LOG");
    FILE *log;
    if (path == NULL || (log = fopen(path, "a")) == NULL) return;
    fprintf(log, "%s\n", call);
    fclose(log);
}

static nvmlReturn_t init(void) {
    const char *error = cfg("INIT_ERROR", -1);
    long count;
    unsigned int i;
    trace("nvmlInit");
    if (error != NULL && atoi(error) != 0) return (nvmlReturn_t)atoi(error);
    count = strtol(cfg_or("GPUS", -1, "1"), NULL, 10);
    if (count < 0) count = 0;
    if (count > MAX_GPUS) count = MAX_GPUS;
    device_count = (unsigned int)count;
    for (i = 0; i < device_count; i++) devices[i].index = i;
    initialized++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit(void) { return init(); }
nvmlReturn_t nvmlInit_v2(void) { return init(); }
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) { (void)flags; return init(); }

nvmlReturn_t nvmlShutdown(void) {
    trace("nvmlShutdown");
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    initialized--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 12: return "NVML Shared Library Not Found";
    case 13: return "Function Not Found";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    return copy_string(cfg_or("DRIVER", -1, "535.104.05"), version, length);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    char text[96];
    snprintf(text, sizeof text, "12.%s", cfg_or("DRIVER", -1, "535.104.05"));
    return copy_string(text, version, length);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *version) {
    if (version == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *version = atoi(cfg_or("CUDA", -1, "12020"));
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version) {
    return nvmlSystemGetCudaDriverVersion(version);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *count = device_count;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (device == NULL || index >= device_count) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devices[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index) {
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    *index = device->index;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    return copy_string(cfg_or("NAME", (int)device->index, "NVIDIA A100-SXM4-80GB"), name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    char text[96];
    const char *configured;
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    configured = cfg("UUID", (int)device->index);
    if (configured == NULL) {
        snprintf(text, sizeof text, "GPU-%08x-5eed-4a11-8c0d-%012x", 0x7a3b0000u + device->index,
                 device->index);
        configured = text;
    }
    return copy_string(configured, uuid, length);
}

static unsigned long long memory_bytes(nvmlDevice_t device) {
    return strtoull(cfg_or("MEMORY_MIB", (int)device->index, "81920"), NULL, 10) * 1024ULL * 1024ULL;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    if (memory == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    memory->total = memory_bytes(device);
    memory->used = 4ULL * 1024 * 1024;
    memory->free = memory->total - memory->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    if (memory == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    memory->total = memory_bytes(device);
    memory->reserved = 512ULL * 1024 * 1024;
    memory->used = 4ULL * 1024 * 1024;
    memory->free = memory->total - memory->reserved - memory->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    if (major == NULL || minor == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    compute_capability((int)device->index, major, minor);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, unsigned int *arch) {
    const char *configured;
    int major, minor;
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    configured = cfg("ARCH", (int)device->index);
    if (configured != NULL) {
        if (strcmp(configured, "none") == 0) return NVML_ERROR_NOT_SUPPORTED;
        *arch = (unsigned int)strtoul(configured, NULL, 10);
        return NVML_SUCCESS;
    }
    compute_capability((int)device->index, &major, &minor);
    switch (major) {  /* NVML_DEVICE_ARCH_* */
    case 3: *arch = 2; break;
    case 5: *arch = 3; break;
    case 6: *arch = 4; break;
    case 7: *arch = minor >= 5 ? 6 : 5; break;
    case 8: *arch = minor == 9 ? 8 : 7; break;
    case 9: *arch = 9; break;
    case 10: case 11: case 12: *arch = 10; break;
    default: *arch = 0xffffffffu;
    }
    return NVML_SUCCESS;
}

static nvmlReturn_t current_pending(nvmlDevice_t device, const char *key, unsigned int *current,
                                    unsigned int *pending) {
    const char *configured;
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    if (current == NULL || pending == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    configured = cfg(key, (int)device->index);
    if (configured == NULL) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = (unsigned int)atoi(configured);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
    return current_pending(device, "MIG", current, pending);
}

nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
    return current_pending(device, "ECC", current, pending);
}

nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes) {
    const char *sms;
    nvmlReturn_t ret = check_device(device);
    if (ret != NVML_SUCCESS) return ret;
    if (attributes == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    sms = cfg("SM_COUNT", (int)device->index);
    if (sms == NULL) return NVML_ERROR_NOT_SUPPORTED; /* real NVML: MIG device handles only */
    if (strncmp(sms, "error:", 6) == 0) return (nvmlReturn_t)atoi(sms + 6);
    memset(attributes, 0, sizeof *attributes);
    attributes->multiprocessorCount = (unsigned int)atoi(sms);
    attributes->memorySizeMB = memory_bytes(device) / (1024ULL * 1024ULL);
    return NVML_SUCCESS;
}
