#include <cstdio>
__global__ void k(unsigned long long *out) {
  unsigned long long prev, t, mind = ~0ull; int changes = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(prev));
  unsigned long long start = prev;
  for (int i = 0; i < 200000 && changes < 2000; i++) {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    if (t != prev) { if (t - prev < mind) mind = t - prev; changes++; prev = t; }
  }
  out[0] = mind; out[1] = changes; out[2] = prev - start;
}
int main() {
  unsigned long long *d, h[3];
  cudaMalloc(&d, 24);
  for (int r = 0; r < 3; r++) {
    k<<<1, 1>>>(d); cudaMemcpy(h, d, 24, cudaMemcpyDeviceToHost);
    printf("globaltimer: min step %llu ns, %llu changes over %llu ns (mean step %.1f ns)\n", h[0], h[1], h[2], (double)h[2] / h[1]);
  }
}
