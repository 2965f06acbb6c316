// Device helpers shared by the kernel families. The backend compiles every family's source with this file in front
// of it (followed by a #line directive, so NVRTC's messages still name the family's own file and line).

// +inf without math.h (NVRTC compiles without the host headers).
#define AW_INF __int_as_float(0x7f800000)
#define FULL_MASK 0xffffffffu

// An f16 bit pattern widened to f32 (cvt.f32.f16: no header needed).
__device__ __forceinline__ float h2f(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

// Eight f16 features of row n starting at feature d (zeros past D); vec: D % 8 == 0, so the 16-byte load is aligned.
__device__ __forceinline__ uint4 load_x8(const unsigned short* __restrict__ X, size_t n, int D, int d, bool vec) {
    if (d >= D) return make_uint4(0u, 0u, 0u, 0u);
    if (vec) return *reinterpret_cast<const uint4*>(X + n * (size_t)D + d);
    unsigned int w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const unsigned int lo = d + 2 * i < D ? X[n * (size_t)D + d + 2 * i] : 0u;
        const unsigned int hi = d + 2 * i + 1 < D ? X[n * (size_t)D + d + 2 * i + 1] : 0u;
        w[i] = lo | (hi << 16);
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
}

// The dW1 kernels' db1 / dw2 partials of one block: thread t has summed hidden unit t % hc over some of the block's
// rows (sb1: U, sw2: g * h); adds up the threads of each unit and writes db1[j], dw2[j]. `red` holds 2 * blockDim.x
// floats. Every thread of the block must call it.
__device__ __forceinline__ void store_bias_partials(float sb1, float sw2, float* red, int hc, float* __restrict__ db1,
                                                    float* __restrict__ dw2) {
    red[threadIdx.x] = sb1;
    red[blockDim.x + threadIdx.x] = sw2;
    __syncthreads();
    if ((int)threadIdx.x < hc) {
        float b1s = 0.0f, w2s = 0.0f;
        for (unsigned int i = threadIdx.x; i < blockDim.x; i += hc) {
            b1s += red[i];
            w2s += red[blockDim.x + i];
        }
        db1[threadIdx.x] = b1s;
        dw2[threadIdx.x] = w2s;
    }
}
