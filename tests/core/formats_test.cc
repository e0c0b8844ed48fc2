// File formats: the array file, .npy, CSV and vector inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/array_file.h"
#include "core/csv.h"
#include "core/file_util.h"
#include "core/npy.h"
#include "core/vector_input.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

void WriteBytes(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(WriteStringToFile(path, bytes).ok());
}

std::string ReadBytes(const std::string& path) {
  return *ReadFileToString(path);
}

TEST(ArrayFile, RoundTripMapsTheSameFloats) {
  TempDir dir;
  std::vector<float> x = testing::RandomVectors(37, 5, 1);
  ASSERT_TRUE(WriteFloatArrayFile(dir.Join("v.f32"), x.data(), 37, 5, kArrayFlagUnitNorm).ok());
  auto a = MappedArray::Open(dir.Join("v.f32"), ArrayDType::kFloat32);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->count(), 37u);
  EXPECT_EQ(a->dims(), 5u);
  EXPECT_EQ(a->flags(), kArrayFlagUnitNorm);
  EXPECT_EQ(std::memcmp(a->floats(), x.data(), x.size() * 4), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a->floats()) % 64, 0u) << "rows must start 64-byte aligned";
  auto h = ReadArrayFileHeader(dir.Join("v.f32"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->count, 37u);
  EXPECT_EQ(std::string(h->magic, 7), "SIMSARR");
}

TEST(ArrayFile, RejectsTruncatedPaddedWrongDtypeAndBadMagic) {
  TempDir dir;
  std::vector<int64_t> ids = {5, 6, 7};
  ASSERT_TRUE(WriteInt64ArrayFile(dir.Join("ids"), ids.data(), 3).ok());
  std::string bytes = ReadBytes(dir.Join("ids"));

  WriteBytes(dir.Join("short"), bytes.substr(0, bytes.size() - 1));
  auto st = MappedArray::Open(dir.Join("short"), ArrayDType::kInt64).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("truncated"));

  WriteBytes(dir.Join("long"), bytes + "x");
  EXPECT_EQ(MappedArray::Open(dir.Join("long"), ArrayDType::kInt64).status().code(),
            absl::StatusCode::kDataLoss);

  EXPECT_THAT(MappedArray::Open(dir.Join("ids"), ArrayDType::kFloat32).status().message(),
              HasSubstr("holds int64, expected float32"));

  std::string bad = bytes;
  bad[0] = 'X';
  WriteBytes(dir.Join("magic"), bad);
  EXPECT_THAT(MappedArray::Open(dir.Join("magic"), ArrayDType::kInt64).status().message(),
              HasSubstr("bad magic"));

  WriteBytes(dir.Join("tiny"), bytes.substr(0, 10));
  EXPECT_THAT(MappedArray::Open(dir.Join("tiny"), ArrayDType::kInt64).status().message(),
              HasSubstr("truncated header"));
}

TEST(Npy, Float32RoundTripAndInt64Ids) {
  TempDir dir;
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(WriteNpyFloat32(dir.Join("x.npy"), x.data(), 2, 3).ok());
  auto v = ReadVectors(dir.Join("x.npy"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->count, 2u);
  EXPECT_EQ(v->dims, 3u);
  EXPECT_EQ(v->data, x);
  // The header is padded so the data starts on a 64-byte boundary.
  EXPECT_EQ((ReadBytes(dir.Join("x.npy")).size() - 24) % 64, 0u);

  std::vector<int64_t> ids = {10, -3, 1LL << 40};
  ASSERT_TRUE(WriteNpyInt64(dir.Join("ids.npy"), ids.data(), 3).ok());
  auto r = ReadIds(dir.Join("ids.npy"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, ids);
}

// Builds an .npy file by hand, as NumPy writes it (format 1.0).
std::string NpyBytes(const std::string& descr, const std::string& shape, const std::string& data,
                     bool fortran = false) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

TEST(Npy, ReadsFloat64AsFloat32) {
  TempDir dir;
  double d[4] = {0.5, -1.25, 3.0, 1e-3};
  WriteBytes(dir.Join("d.npy"),
             NpyBytes("<f8", "(2, 2)", std::string(reinterpret_cast<char*>(d), 32)));
  auto v = ReadVectors(dir.Join("d.npy"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->data, (std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f}));
}

TEST(Npy, RejectsTruncatedFortranWrongDtypeAndGarbage) {
  TempDir dir;
  std::string data(24, '\0');
  WriteBytes(dir.Join("trunc.npy"), NpyBytes("<f4", "(2, 4)", data));  // needs 32 bytes
  auto st = ReadVectors(dir.Join("trunc.npy")).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("truncated"));
  EXPECT_THAT(st.message(), HasSubstr("trunc.npy"));

  WriteBytes(dir.Join("f.npy"), NpyBytes("<f4", "(2, 3)", data, /*fortran=*/true));
  EXPECT_THAT(ReadVectors(dir.Join("f.npy")).status().message(), HasSubstr("Fortran order"));

  WriteBytes(dir.Join("i.npy"), NpyBytes("<i8", "(3, 1)", data));
  EXPECT_THAT(ReadVectors(dir.Join("i.npy")).status().message(),
              HasSubstr("must be float32 or float64, found dtype '<i8'"));

  WriteBytes(dir.Join("be.npy"), NpyBytes(">f4", "(2, 3)", data));
  EXPECT_THAT(ReadVectors(dir.Join("be.npy")).status().message(), HasSubstr("not supported"));

  WriteBytes(dir.Join("1d.npy"), NpyBytes("<f4", "(6,)", data));
  EXPECT_THAT(ReadVectors(dir.Join("1d.npy")).status().message(), HasSubstr("2-D"));

  WriteBytes(dir.Join("empty.npy"), NpyBytes("<f4", "(0, 3)", ""));
  EXPECT_THAT(ReadVectors(dir.Join("empty.npy")).status().message(), HasSubstr("empty input"));

  WriteBytes(dir.Join("junk.npy"), "hello world, not numpy");
  EXPECT_THAT(ReadVectors(dir.Join("junk.npy")).status().message(), HasSubstr("not a NumPy"));
}

TEST(Fvecs, ReadsAndRejectsRaggedAndTruncated) {
  TempDir dir;
  auto row = [](std::vector<float> v) {
    int32_t d = static_cast<int32_t>(v.size());
    return std::string(reinterpret_cast<char*>(&d), 4) +
           std::string(reinterpret_cast<char*>(v.data()), v.size() * 4);
  };
  WriteBytes(dir.Join("ok.fvecs"), row({1, 2}) + row({3, 4}) + row({5, 6}));
  auto v = ReadVectors(dir.Join("ok.fvecs"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->count, 3u);
  EXPECT_EQ(v->data, (std::vector<float>{1, 2, 3, 4, 5, 6}));

  WriteBytes(dir.Join("ragged.fvecs"), row({1, 2}) + row({3, 4, 5}));
  EXPECT_THAT(ReadVectors(dir.Join("ragged.fvecs")).status().message(),
              HasSubstr("row 1: ragged rows: dimension 3 but row 0 has 2"));

  std::string t = row({1, 2}) + row({3, 4});
  WriteBytes(dir.Join("trunc.fvecs"), t.substr(0, t.size() - 2));
  EXPECT_THAT(ReadVectors(dir.Join("trunc.fvecs")).status().message(),
              HasSubstr("row 1: truncated"));

  WriteBytes(dir.Join("empty.fvecs"), "");
  EXPECT_THAT(ReadVectors(dir.Join("empty.fvecs")).status().message(), HasSubstr("empty input"));
}

TEST(CsvVectors, ParsesIdsAndRejectsBadRowsByLine) {
  TempDir dir;
  WriteBytes(dir.Join("v.csv"), "id,a,b\n7,1.5,2\n9,-1,0.25\n");
  auto v = ReadVectors(dir.Join("v.csv"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->ids, (std::vector<int64_t>{7, 9}));
  EXPECT_EQ(v->data, (std::vector<float>{1.5f, 2, -1, 0.25f}));

  WriteBytes(dir.Join("ragged.csv"), "1,1,2\n2,1,2,3\n");
  EXPECT_THAT(ReadVectors(dir.Join("ragged.csv")).status().message(),
              HasSubstr("line 2: ragged rows: 3 components but earlier rows have 2"));

  WriteBytes(dir.Join("nan.csv"), "1,1,2\n2,abc,3\n");
  EXPECT_THAT(ReadVectors(dir.Join("nan.csv")).status().message(),
              HasSubstr("line 2, column 2: 'abc' is not a number"));

  WriteBytes(dir.Join("empty.csv"), "id,a,b\n");
  EXPECT_THAT(ReadVectors(dir.Join("empty.csv")).status().message(), HasSubstr("empty input"));

  WriteBytes(dir.Join("inf.csv"), "1,1,2\n2,inf,3\n");
  auto inf = ReadVectors(dir.Join("inf.csv"));
  ASSERT_TRUE(inf.ok());
  EXPECT_THAT(CheckFinite(*inf, "inf.csv").message(), HasSubstr("row 1 (id 2), component 0: Inf"));
}

TEST(Ids, TextIdsNameTheBadLine) {
  TempDir dir;
  WriteBytes(dir.Join("ids.txt"), "1\n2\n\nx3\n");
  EXPECT_THAT(ReadIds(dir.Join("ids.txt")).status().message(), HasSubstr("line 4: 'x3'"));
  WriteBytes(dir.Join("none.txt"), "\n\n");
  EXPECT_THAT(ReadIds(dir.Join("none.txt")).status().message(), HasSubstr("empty input"));
}

TEST(Csv, QuotedFieldsWithCommasQuotesAndNewlines) {
  std::string text = "a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",z\r\n3,,\n";
  CsvReader r(text, "t.csv");
  std::vector<std::string> f;
  ASSERT_TRUE(*r.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(*r.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  ASSERT_TRUE(*r.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"2", "two\nlines", "z"}));
  EXPECT_EQ(r.line(), 3u);
  ASSERT_TRUE(*r.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"3", "", ""}));
  EXPECT_EQ(r.line(), 5u) << "the record after a two-line field starts on line 5";
  EXPECT_FALSE(*r.Next(&f));

  CsvReader bad("1,\"open\n", "bad.csv");
  auto st = bad.Next(&f).status();
  EXPECT_THAT(st.message(), HasSubstr("bad.csv: line 1: quoted field never closed"));
}

// A CSV file opened whole: its header, records with blank lines skipped and their
// lines, a moved CsvFile still reading (the text stays put), and empty files refused
// with the caller's word for them.
TEST(Csv, FileSkipsBlankLinesAndRefusesAnEmptyFile) {
  TempDir dir;
  // Long enough that a moved std::string would not keep its characters inline.
  const std::string title(64, 'x');
  ASSERT_TRUE(
      WriteStringToFile(dir.Join("a.csv"), "id,title\n1," + title + "\n\n   \n2,\"b\nc\"\n").ok());
  auto opened = CsvFile::Open(dir.Join("a.csv"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  CsvFile f = *std::move(opened);
  EXPECT_EQ(f.header(), (std::vector<std::string>{"id", "title"}));
  std::vector<std::string> r;
  ASSERT_TRUE(*f.Next(&r));
  EXPECT_EQ(r, (std::vector<std::string>{"1", title}));
  EXPECT_EQ(f.line(), 2u);
  ASSERT_TRUE(*f.Next(&r)) << "the blank and the spaces-only lines are skipped";
  EXPECT_EQ(r, (std::vector<std::string>{"2", "b\nc"}));
  EXPECT_EQ(f.line(), 5u);
  EXPECT_FALSE(*f.Next(&r));
  ASSERT_TRUE(WriteStringToFile(dir.Join("e.csv"), "").ok());
  EXPECT_THAT(CsvFile::Open(dir.Join("e.csv"), "catalogue file").status().message(),
              HasSubstr("e.csv: empty catalogue file"));
  for (const char* text : {"\n", "  \n1,2\n"}) {
    ASSERT_TRUE(WriteStringToFile(dir.Join("e.csv"), text).ok());
    EXPECT_THAT(CsvFile::Open(dir.Join("e.csv")).status().message(),
                HasSubstr("e.csv: line 1 is blank; the first line must be the header"))
        << "'" << text << "'";
  }
  EXPECT_FALSE(CsvFile::Open(dir.Join("missing.csv")).ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("q.csv"), "a,b\n1,\"open\n").ok());
  auto q = CsvFile::Open(dir.Join("q.csv"));
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(q->Next(&r).status().message(),
              HasSubstr("q.csv: line 2: quoted field never closed"));
}

// Opening an array file reads its header and touches no page of the mapping: a cold
// open must not pull the file in through mmap's read-around (the device's whole
// read-ahead window: 8 MiB on this project's VMs, which made a cold Lambda start read
// 100 MB of bundle files for their 64-byte headers).
TEST(ArrayFile, OpeningTouchesNoMappedPage) {
  testing::TempDir dir;
  const std::string path = dir.Join("big.f32");
  const uint64_t rows = 16384, dims = 64;  // 4 MiB of data
  std::vector<float> x(rows * dims, 0.5f);
  ASSERT_TRUE(WriteFloatArrayFile(path, x.data(), rows, dims, 0).ok());
  // Drop the file from the page cache (it was fsynced when written), and check that
  // the filesystem honoured it: tmpfs keeps every page, and there is nothing to test.
  const long page = ::sysconf(_SC_PAGESIZE);
  auto resident_from = [&](const unsigned char* p, size_t size, size_t from) {
    std::vector<unsigned char> v((size + static_cast<size_t>(page) - 1) /
                                 static_cast<size_t>(page));
    EXPECT_EQ(::mincore(const_cast<unsigned char*>(p), size, v.data()), 0);
    size_t n = 0;
    for (size_t i = from / static_cast<size_t>(page); i < v.size(); ++i) n += v[i] & 1;
    return n;
  };
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  const size_t size = static_cast<size_t>(::lseek(fd, 0, SEEK_END));
  void* probe = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const size_t kept = resident_from(static_cast<const unsigned char*>(probe), size, 0);
  ::munmap(probe, size);
  ::close(fd);
  if (kept > 0) GTEST_SKIP() << "this filesystem keeps dropped pages (" << kept << " resident)";

  auto a = MappedArray::Open(path, ArrayDType::kFloat32);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->count(), rows);
  const unsigned char* base = reinterpret_cast<const unsigned char*>(a->floats()) - 64;
  // The header's read may read ahead a little; nothing past the first 64 KiB.
  EXPECT_EQ(resident_from(base, size, 64 << 10), 0u) << "pages read in by opening the file";
}

}  // namespace
}  // namespace simsearch
