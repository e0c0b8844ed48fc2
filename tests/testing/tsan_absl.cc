// ThreadSanitizer builds only (./scripts/test.sh --tsan): tells TSan about absl::Mutex
// and absl::Notification.
//
// Debian's abseil is a shared library built without TSan, so TSan does not see its
// locks: every access guarded by an absl::Mutex would be reported as a race, and a
// real race could not be told from the noise. This file defines the out-of-line
// members our code calls (Lock, Unlock, ReaderLock, ...) in the test executable itself;
// each one forwards to the real abseil function (dlsym(RTLD_NEXT)) wrapped in TSan's
// mutex annotations (sanitizer/tsan_interface.h), as abseil's own TSan build does.
//
// It is compiled with hidden visibility, so only our code's calls resolve here: gRPC
// and abseil keep calling their own copies, whose locking TSan does not see either way
// (their condition variables release a mutex without going through Unlock, which
// would confuse TSan's view of who holds it).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

#define SIMSEARCH_STR2(x) #x
#define SIMSEARCH_STR(x) SIMSEARCH_STR2(x)

namespace {

// The real function's address: NAME is the Itanium-mangled name after "absl::<inline
// namespace>::", e.g. "5Mutex4LockEv"; CONST_MEMBER adds the 'K' of a const member.
template <typename Fn>
Fn Real(const char* name, bool const_member = false) {
  const std::string ns = SIMSEARCH_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string symbol =
      std::string(const_member ? "_ZNK4absl" : "_ZN4absl") + std::to_string(ns.size()) + ns + name;
  void* fn = dlsym(RTLD_NEXT, symbol.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr,
                 "tsan_absl: abseil has no %s; this shim matches Debian 12's abseil "
                 "20220623 and needs updating for another version\n",
                 symbol.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

using Plain = void (*)(absl::Mutex*);
using Try = bool (*)(absl::Mutex*);
using WithCondition = void (*)(absl::Mutex*, const absl::Condition&);
using WithTimeout = bool (*)(absl::Mutex*, const absl::Condition&, absl::Duration);

// Await* release the lock while they wait and hold it again when they return: to TSan,
// an unlock before and a lock after. The condition is evaluated inside, under the real
// lock, while TSan ignores the thread's accesses (between pre_unlock and post_unlock).
template <typename F>
auto AsUnlockedWhile(absl::Mutex* mu, F wait) {
  __tsan_mutex_pre_unlock(mu, 0);
  auto result = wait();
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
  return result;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  static const Plain real = Real<Plain>("5MutexD2Ev");
  __tsan_mutex_destroy(this, 0);
  real(this);
}

void Mutex::Lock() {
  static const Plain real = Real<Plain>("5Mutex4LockEv");
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Unlock() {
  static const Plain real = Real<Plain>("5Mutex6UnlockEv");
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

bool Mutex::TryLock() {
  static const Try real = Real<Try>("5Mutex7TryLockEv");
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  __tsan_mutex_post_lock(
      this, locked ? __tsan_mutex_try_lock : __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed,
      0);
  return locked;
}

void Mutex::ReaderLock() {
  static const Plain real = Real<Plain>("5Mutex10ReaderLockEv");
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

void Mutex::ReaderUnlock() {
  static const Plain real = Real<Plain>("5Mutex12ReaderUnlockEv");
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  static const WithCondition real = Real<WithCondition>("5Mutex8LockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Await(const Condition& cond) {
  static const WithCondition real = Real<WithCondition>("5Mutex5AwaitERKNS0_9ConditionE");
  AsUnlockedWhile(this, [&] {
    real(this, cond);
    return 0;
  });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static const WithTimeout real =
      Real<WithTimeout>("5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AsUnlockedWhile(this, [&] { return real(this, cond, timeout); });
}

// Notify happens before every wait that returns because of it.
void Notification::Notify() {
  using Fn = void (*)(Notification*);
  static const Fn real = Real<Fn>("12Notification6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  using Fn = void (*)(const Notification*);
  static const Fn real = Real<Fn>("12Notification19WaitForNotificationEv", true);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  using Fn = bool (*)(const Notification*, Duration);
  static const Fn real =
      Real<Fn>("12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
