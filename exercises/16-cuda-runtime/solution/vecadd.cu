// Add two vectors of a million floats on the GPU and check the result.
// Build: nvcc -O2 -o vecadd vecadd.cu     Run: docker run --rm --gpus all IMAGE
#include <cstdio>
#include <cuda_runtime.h>

__global__ void add(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

int main() {
    const int n = 1 << 20;
    float *a, *b, *c;
    cudaError_t err = cudaMallocManaged(&a, n * sizeof(float));
    if (err != cudaSuccess) {
        // Without --gpus all (or without the NVIDIA Container Toolkit) this says
        // "no CUDA-capable device is detected" or "CUDA driver version is insufficient".
        fprintf(stderr, "no usable GPU: %s\n", cudaGetErrorString(err));
        return 1;
    }
    cudaMallocManaged(&b, n * sizeof(float));
    cudaMallocManaged(&c, n * sizeof(float));
    for (int i = 0; i < n; i++) { a[i] = 1.0f; b[i] = 2.0f; }

    add<<<(n + 255) / 256, 256>>>(a, b, c, n);
    cudaDeviceSynchronize();

    int wrong = 0;
    for (int i = 0; i < n; i++) wrong += c[i] != 3.0f;
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("%s: added %d floats, %d wrong\n", prop.name, n, wrong);
    cudaFree(a); cudaFree(b); cudaFree(c);
    return wrong ? 1 : 0;
}
