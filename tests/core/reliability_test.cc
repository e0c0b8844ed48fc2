// The promises of docs/RELIABILITY.md at the core level: files are replaced, never
// rewritten in place; copies never share an inode; killed writers' leftovers are
// removed; a mapping whose file shrinks does not kill the process; sizes read from
// headers cannot wrap around.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/array_file.h"
#include "core/bundle.h"
#include "core/file_util.h"
#include "core/mapped_file.h"
#include "core/npy.h"
#include "core/vector_input.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

ino_t Inode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST(FileWriter, ReplacesTheFileSoOtherNamesKeepTheOldContent) {
  TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("a"), "old content").ok());
  ASSERT_EQ(::link(dir.Join("a").c_str(), dir.Join("published").c_str()), 0);
  ASSERT_TRUE(WriteStringToFile(dir.Join("a"), "new").ok());
  EXPECT_EQ(*ReadFileToString(dir.Join("a")), "new");
  EXPECT_EQ(*ReadFileToString(dir.Join("published")), "old content")
      << "a hard link to the old file must not see the rewrite";
  EXPECT_NE(Inode(dir.Join("a")), Inode(dir.Join("published")));
  EXPECT_EQ(testing::DirEntries(dir.path()), (std::vector<std::string>{"a", "published"}))
      << "no temporary file is left";
}

TEST(FileWriter, AMappedOldFileStaysReadable) {
  TempDir dir;
  std::vector<float> x(1024, 1.5f);
  ASSERT_TRUE(WriteFloatArrayFile(dir.Join("v"), x.data(), 256, 4, 0).ok());
  auto mapped = MappedArray::Open(dir.Join("v"), ArrayDType::kFloat32);
  ASSERT_TRUE(mapped.ok());
  std::vector<float> y(4, 2.0f);
  ASSERT_TRUE(WriteFloatArrayFile(dir.Join("v"), y.data(), 1, 4, 0).ok());  // much smaller
  EXPECT_EQ(mapped->row(255)[3], 1.5f) << "the old mapping still reads the old file";
}

TEST(FileWriter, DestroyedWithoutCloseLeavesTheOldFile) {
  TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("a"), "keep me").ok());
  {
    auto w = FileWriter::Create(dir.Join("a"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Append("half-writ").ok());
  }
  EXPECT_EQ(*ReadFileToString(dir.Join("a")), "keep me");
  EXPECT_EQ(testing::DirEntries(dir.path()), std::vector<std::string>{"a"});
}

TEST(CopyTree, CopiesNeverShareAnInodeAndSkipLeftovers) {
  TempDir dir;
  fs::create_directories(dir.Join("src/sub"));
  ASSERT_TRUE(WriteStringToFile(dir.Join("src/x"), std::string(100000, 'x')).ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("src/sub/y"), "why").ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("src/.x.tmp-1-deadbeef"), "junk").ok());
  ASSERT_TRUE(CopyTree(dir.Join("src"), dir.Join("dst")).ok());
  EXPECT_EQ(*ReadFileToString(dir.Join("dst/x")), std::string(100000, 'x'));
  EXPECT_EQ(*ReadFileToString(dir.Join("dst/sub/y")), "why");
  EXPECT_NE(Inode(dir.Join("src/x")), Inode(dir.Join("dst/x")));
  EXPECT_FALSE(fs::exists(dir.Join("dst/.x.tmp-1-deadbeef")));
  // Rewriting the source in place (as any tool might) does not change the copy.
  int fd = ::open(dir.Join("src/x").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "z", 1), 1);
  ::close(fd);
  EXPECT_EQ(fs::file_size(dir.Join("dst/x")), 100000u);
}

TEST(CopyTree, RejectsSymlinks) {
  TempDir dir;
  fs::create_directories(dir.Join("src"));
  fs::create_symlink("/etc/passwd", dir.Join("src/link"));
  auto st = CopyTree(dir.Join("src"), dir.Join("dst"));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("not a regular file"));
}

void WriteTinyBundleFiles(const BundleWriter& w) {
  std::vector<float> x = {1, 0, 0, 1};
  std::vector<int64_t> ids = {1, 2};
  ASSERT_TRUE(WriteFloatArrayFile(w.PathOf(kVectorsFile), x.data(), 2, 2, 0).ok());
  ASSERT_TRUE(WriteInt64ArrayFile(w.PathOf(kIdsFile), ids.data(), 2).ok());
}

Manifest TinyManifest() {
  Manifest m;
  m.collection = "c";
  m.metric = Metric::kInnerProduct;
  m.dims = 2;
  m.count = 2;
  m.source = "test";
  m.built_at = NowRfc3339();
  return m;
}

TEST(Leftovers, KilledWritersLeftoversGoAtTheNextBuildButLiveOnesStay) {
  TempDir root;
  const std::string c = root.Join("c");
  fs::create_directories(c + "/.staging-99999-0000beef");  // a killed build: nobody holds it
  ASSERT_TRUE(WriteStringToFile(c + "/.staging-99999-0000beef/vectors.f32", "x").ok());
  fs::create_directories(c + "/.trash-v000001-5-0000cafe/x");  // an interrupted prune
  ASSERT_TRUE(WriteStringToFile(c + "/.CURRENT.tmp-424242-00000001", "v000009\n").ok());
  auto live = BundleWriter::Create(root.path(), "c");  // a build in progress
  ASSERT_TRUE(live.ok());
  WriteTinyBundleFiles(**live);
  const std::string live_staging = fs::path((*live)->PathOf(kVectorsFile)).parent_path().string();
  EXPECT_TRUE(fs::exists(live_staging));
  EXPECT_FALSE(fs::exists(c + "/.staging-99999-0000beef"));
  EXPECT_FALSE(fs::exists(c + "/.trash-v000001-5-0000cafe"));
  EXPECT_FALSE(fs::exists(c + "/.CURRENT.tmp-424242-00000001"));

  // Another writer starting (or pruning) now must not take the live build for dead.
  auto other = BundleWriter::Create(root.path(), "c");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(fs::exists(live_staging));
  auto removed = RemoveLeftovers(c);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
  auto v = (*live)->Publish(TinyManifest());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "v000001");
}

TEST(Leftovers, PruneNeverRemovesWhatCurrentNamesAndLeavesNoHalfDeletedVersion) {
  TempDir root;
  for (int i = 0; i < 3; ++i) {
    auto w = BundleWriter::Create(root.path(), "c");
    WriteTinyBundleFiles(**w);
    ASSERT_TRUE((*w)->Publish(TinyManifest()).ok());
  }
  ASSERT_TRUE(WriteStringToFile(root.Join("c/CURRENT"), "v000002\n").ok());
  auto removed = PruneVersions(root.Join("c"), 1);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, std::vector<std::string>{"v000001"});
  EXPECT_EQ(testing::DirEntries(root.Join("c")),
            (std::vector<std::string>{".lock", "CURRENT", "v000002", "v000003"}));
}

// The guard turns a read past the end of a truncated mapped file into zeros and a
// damage report, instead of SIGBUS killing the process.
TEST(MappedFileGuard, ATruncatedMappedFileIsReportedNotFatal) {
  InstallMappedFileGuard();
  TempDir dir;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<float> x(page, 3.0f);  // 4 pages of floats
  ASSERT_TRUE(WriteFloatArrayFile(dir.Join("v"), x.data(), page / 4, 4, 0).ok());
  auto a = MappedArray::Open(dir.Join("v"), ArrayDType::kFloat32);
  ASSERT_TRUE(a.ok());
  auto other = MappedFile::Open(dir.Join("v"));  // a second, untouched mapping
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(DamagedMappings().empty());
  ASSERT_EQ(::truncate(dir.Join("v").c_str(), 100), 0);  // an operator's mistake
  volatile float last = a->row(a->count() - 1)[3];       // beyond the new end: SIGBUS
  EXPECT_EQ(last, 0.0f) << "the faulting read resumes on a zero page";
  auto damaged = DamagedMappings();
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_EQ(damaged[0], dir.Join("v"));
  EXPECT_EQ(other->CheckIntact().code(), absl::StatusCode::kOk) << "only the faulting mapping";
}

TEST(HeaderSizes, NpyShapesThatWrapAroundAreRejected) {
  TempDir dir;
  auto npy = [&](const std::string& name, const std::string& descr, const std::string& shape) {
    std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    dict.append(118 - dict.size(), ' ');
    dict.push_back('\n');
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes.push_back(static_cast<char>(dict.size()));
    bytes.push_back(0);
    bytes += dict;
    const std::string p = dir.Join(name);
    EXPECT_TRUE(WriteStringToFile(p, bytes).ok());
    return p;
  };
  // (2^61,) of int64: 2^64 bytes, wraps to 0 = the file's 0 data bytes.
  auto ids = ReadIds(npy("ids.npy", "<i8", "(2305843009213693952,)"));
  ASSERT_FALSE(ids.ok());
  EXPECT_THAT(ids.status().message(), HasSubstr("larger than any file"));
  // (2^62, 4) of float32: 2^66 bytes, wraps to 0.
  auto v = ReadVectors(npy("v.npy", "<f4", "(4611686018427387904, 4)"));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("larger than any file"));
}

TEST(HeaderSizes, ArrayFileShapesThatWrapAroundAreRejected) {
  TempDir dir;
  ArrayFileHeader h{};
  std::memcpy(h.magic, kArrayFileMagic, sizeof(h.magic));
  h.version = kArrayFileVersion;
  h.dtype = static_cast<uint32_t>(ArrayDType::kInt64);
  h.dims = 1;
  h.count = uint64_t{1} << 61;  // 2^64 bytes
  h.data_offset = 64;
  ASSERT_TRUE(WriteStringToFile(dir.Join("a"), std::string(reinterpret_cast<char*>(&h), 64)).ok());
  auto a = MappedArray::Open(dir.Join("a"), ArrayDType::kInt64);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace simsearch
