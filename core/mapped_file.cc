#include "core/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <atomic>
#include <cerrno>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/file_util.h"

namespace simsearch {
namespace {

// The guard's table of registered mappings. The signal handler reads it without locks
// (atomics only); registration takes a slot with a compare-and-swap. Slots beyond
// kSlots are not guarded (a process maps far fewer files than this).
constexpr int kSlots = 4096;

struct Slot {
  std::atomic<uintptr_t> begin{0};  // 0: free
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> damaged{false};
};

Slot g_slots[kSlots];
std::atomic<int> g_high_water{0};   // slots [0, g_high_water) may be in use
std::atomic<uint64_t> g_faults{0};  // faults handled, ever

// Paths by slot, for reports outside the handler (never read by the handler).
absl::Mutex g_paths_mu;
std::string* g_paths ABSL_GUARDED_BY(g_paths_mu) = new std::string[kSlots];

struct sigaction g_previous;
std::once_flag g_install_once;

int Register(const void* begin, size_t size, const std::string& path) {
  if (begin == nullptr || size == 0) return -1;
  const uintptr_t b = reinterpret_cast<uintptr_t>(begin);
  for (int i = 0; i < kSlots; ++i) {
    uintptr_t expected = 0;
    // Claim with a placeholder so the handler never sees a half-set slot.
    if (g_slots[i].begin.compare_exchange_strong(expected, 1)) {
      {
        absl::MutexLock lock(&g_paths_mu);
        g_paths[i] = path;
      }
      g_slots[i].damaged.store(false);
      g_slots[i].end.store(b + size);
      g_slots[i].begin.store(b);
      int hw = g_high_water.load();
      while (hw < i + 1 && !g_high_water.compare_exchange_weak(hw, i + 1)) {
      }
      return i;
    }
  }
  return -1;
}

void Unregister(int slot) {
  if (slot < 0) return;
  g_slots[slot].end.store(0);
  g_slots[slot].damaged.store(false);
  g_slots[slot].begin.store(0);
}

absl::Status SlotStatus(int slot, const std::string& path) {
  if (slot < 0 || !g_slots[slot].damaged.load(std::memory_order_acquire)) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      path,
      ": the file shrank while it was memory-mapped (truncated or rewritten in place); "
      "what was read from it is lost"));
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const int n = g_high_water.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    const uintptr_t b = g_slots[i].begin.load(std::memory_order_acquire);
    if (b <= 1 || addr < b || addr >= g_slots[i].end.load(std::memory_order_acquire)) continue;
    const uintptr_t e = g_slots[i].end.load(std::memory_order_acquire);
    g_slots[i].damaged.store(true, std::memory_order_release);
    g_faults.fetch_add(1, std::memory_order_release);
    // Zero pages in place of the whole mapping (mmap is a plain system call, safe in
    // a handler in practice on Linux): the faulting read resumes and reads zeros.
    void* p = ::mmap(reinterpret_cast<void*>(b), e - b, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) return;
    break;  // cannot repair: fall through to the previous handler
  }
  // Not ours: hand over to whoever handled SIGBUS before, or die as without the guard.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
             g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL);  // the faulting instruction runs again and kills the process
}

}  // namespace

void InstallMappedFileGuard() {
  std::call_once(g_install_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

std::vector<std::string> DamagedMappings() {
  std::vector<std::string> out;
  if (g_faults.load(std::memory_order_acquire) == 0) return out;
  absl::MutexLock lock(&g_paths_mu);
  const int n = g_high_water.load();
  for (int i = 0; i < n; ++i) {
    if (g_slots[i].begin.load() > 1 && g_slots[i].damaged.load()) out.push_back(g_paths[i]);
  }
  return out;
}

GuardedRegion::GuardedRegion(const void* begin, size_t size, std::string path)
    : slot_(Register(begin, size, path)), path_(std::move(path)) {}

GuardedRegion::GuardedRegion(GuardedRegion&& other) noexcept
    : slot_(other.slot_), path_(std::move(other.path_)) {
  other.slot_ = -1;
}

GuardedRegion& GuardedRegion::operator=(GuardedRegion&& other) noexcept {
  if (this != &other) {
    Unregister(slot_);
    slot_ = other.slot_;
    path_ = std::move(other.path_);
    other.slot_ = -1;
  }
  return *this;
}

GuardedRegion::~GuardedRegion() {
  Unregister(slot_);
}

absl::Status GuardedRegion::CheckIntact() const {
  return SlotStatus(slot_, path_);
}

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path, void* head,
                                            size_t head_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  if (head_bytes > 0) {
    std::memset(head, 0, head_bytes);
    size_t done = 0;
    while (done < head_bytes) {  // to the end of the file, through EINTR and short reads
      const ssize_t got =
          ::pread(fd, static_cast<char*>(head) + done, head_bytes - done, static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        int err = errno;
        ::close(fd);
        return ErrnoStatus("cannot read", path, err);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
  }
  MappedFile f;
  f.path_ = path;
  f.size_ = static_cast<size_t>(st.st_size);
  if (f.size_ > 0) {
    void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("cannot mmap", path, err);
    }
    f.data_ = static_cast<const unsigned char*>(p);
    f.guard_slot_ = Register(p, f.size_, path);
  }
  ::close(fd);  // the mapping keeps the file alive
  return f;
}

absl::Status MappedFile::CheckIntact() const {
  return SlotStatus(guard_slot_, path_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_),
      size_(other.size_),
      path_(std::move(other.path_)),
      guard_slot_(other.guard_slot_) {
  other.data_ = nullptr;
  other.size_ = 0;
  other.guard_slot_ = -1;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    path_ = std::move(other.path_);
    guard_slot_ = other.guard_slot_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.guard_slot_ = -1;
  }
  return *this;
}

MappedFile::~MappedFile() {
  Reset();
}

void MappedFile::Reset() {
  Unregister(guard_slot_);  // before munmap: the range may be reused by the next mmap
  guard_slot_ = -1;
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace simsearch
