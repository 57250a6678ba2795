// labd::Client against a real lab: the lab process (forked, as `run --lab` will do it), a real
// private pcscd in a mount namespace, our reader driver, the emulated cards. Needs root; exits 77
// (skipped) otherwise. All cases share one lab folder: libpcsclite remembers the first
// PCSCLITE_CSOCK_NAME it sees for the life of the process.
#include "backends/lab/lab_client.hpp"
#include "backends/lab/lab_process.hpp"
#include "backends/pcsc/context.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"
#include "services/lab/lab_config.hpp"
#include "services/lab/reader_model.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path& lab_dir() {
    static const fs::path dir = [] {
        char templ[] = "/tmp/chlabu.XXXXXX";
        if (!::mkdtemp(templ))
            test::skip("mkdtemp failed");
        return fs::path(templ);
    }();
    return dir;
}

void require_lab() {
    if (::geteuid() != 0)
        test::skip("needs root (a private pcscd in a mount namespace)");
    if (!labd::find_executable("pcscd"))
        test::skip("pcscd not found");
    if (!labd::unshare_permitted())
        test::skip("unshare(CLONE_NEWNS) is not permitted here");
    if (!fs::exists(CARDHARNESS_IFD_DRIVER_PATH))
        test::skip("the reader driver is not built");
}

std::shared_ptr<io::VirtualCard> make_card(const std::string& profile, bool citizen) {
    emu::Options options;
    options.citizen = citizen;
    return std::shared_ptr<io::VirtualCard>(emu::make_card(profile, options));
}

labd::LabSpec two_slot_lab() {
    labd::LabSpec spec;
    spec.models = lab::load_reader_model_dir(test::source_dir() / "profiles" / "readers");
    spec.slots = {{"r01", "lab-tpdu-contact", "mynumber", lab::Interface::Contact, false},
                  {"r02", "lab-contact-basic", "juki", lab::Interface::Contact, false}};
    spec.factory = make_card;
    spec.probe = [](io::VirtualCard& card) {
        auto* emulated = dynamic_cast<emu::Card*>(&card);
        return emulated ? emulated->state().tries_left : std::map<std::string, int>{};
    };
    spec.driver = CARDHARNESS_IFD_DRIVER_PATH;
    spec.pcscd = *labd::find_executable("pcscd");
    return spec;
}

// Stops whatever a case left running, also when it failed.
struct LabGuard {
    ~LabGuard() {
        try {
            labd::Client(lab_dir()).stop();
        } catch (...) {
        }
    }
};

bool ends_within(pid_t pid, std::chrono::milliseconds timeout) {
    const int fd = labd::open_pidfd(pid);
    if (fd < 0)
        return true;
    const bool ended = labd::wait_pidfd(fd, timeout);
    ::close(fd);
    return ended;
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    BOOST_REQUIRE_MESSAGE(::lstat(p.c_str(), &st) == 0, p.string());
    return st.st_mode & 07777;
}

// connect() to a Unix socket as uid/gid 65534 (nobody), in a child: its errno (0 = connected).
int connect_as_nobody(const fs::path& socket) {
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
            ::setresuid(65534, 65534, 65534) != 0)
            ::_exit(200);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::_exit(rc == 0 ? 0 : errno);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

BOOST_AUTO_TEST_CASE(start_status_insert_remove_reset_stop_are_library_calls) {
    require_lab();
    LabGuard guard;
    const labd::Client client(lab_dir());
    const auto started = Clock::now();
    const labd::StartResult result = client.start(two_slot_lab());
    BOOST_TEST_MESSAGE(
        "start took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
        << " ms");
    BOOST_TEST(result.readers == 2U);
    BOOST_TEST(result.pcsc_socket == (lab_dir() / "run" / "pcscd.comm").string());
    BOOST_TEST(client.running().has_value());

    const labd::LabStatus status = client.status();
    BOOST_TEST(status.pcsc_socket == result.pcsc_socket);
    BOOST_TEST(status.pid == client.running()->pid);
    BOOST_TEST(!status.owner_pid.has_value());
    BOOST_REQUIRE(status.slots.size() == 2U);
    const labd::SlotInfo& r01 = status.slots[0];
    BOOST_TEST(r01.status.slot == "r01");
    BOOST_TEST(r01.status.pcsc_reader == "Lab TPDU Contact 100 (r01) 00 00");
    BOOST_TEST(r01.status.card.value_or("") == "mynumber");
    BOOST_TEST(r01.status.pins.at("jpki/001B") == 5);
    BOOST_TEST(r01.usb.vendor_id == 0xF1AB);
    BOOST_TEST(r01.status.opened);
    BOOST_TEST(status.slot_of("Lab Contact Basic (r02) 01 00") == &status.slots[1]);

    // pcscd sees the readers; a removal and an insertion reach it at once (the driver's
    // IFDHPolling), not at pcscd's next 400 ms poll.
    ::setenv("PCSCLITE_CSOCK_NAME", result.pcsc_socket.c_str(), 1);
    pcsc::Context context;
    const auto readers = context.list_readers();
    BOOST_TEST(readers.size() == 2U);
    BOOST_TEST(context.status_of(r01.status.pcsc_reader).state.present);
    const auto swap_started = Clock::now();
    // pcscd learns of a change asynchronously (its polling thread wakes up): wait for it, within
    // the time the swap may take at most.
    const auto seen = [&](auto done) {
        for (auto until = Clock::now() + std::chrono::milliseconds(1500); Clock::now() < until;) {
            const auto s = context.status_of(r01.status.pcsc_reader);
            if (done(s))
                return s;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return context.status_of(r01.status.pcsc_reader);
    };
    client.remove("r01");
    BOOST_TEST(seen([](const auto& s) { return s.state.empty; }).state.empty);
    BOOST_TEST(!client.status().slots[0].status.card.has_value());
    client.insert("r01", std::string("juki"), true);
    const auto after = seen([](const auto& s) { return s.state.present && !s.atr.empty(); });
    const auto swap_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - swap_started).count();
    BOOST_TEST_MESSAGE("remove + insert seen by pcscd in " << swap_ms << " ms");
    BOOST_TEST(after.state.present);
    BOOST_TEST(hex::format(after.atr) == "3B E0 00 FF 81 31 FE 45 14");
    BOOST_TEST(swap_ms < 1500); // pcscd polling every 400 ms made this 0.4-1.6 s
    const auto r01_now = client.status().slots[0].status;
    BOOST_TEST(r01_now.card.value_or("") == "juki");
    BOOST_TEST(r01_now.citizen);
    // A card swapped for another without a removal first (what `run --matrix` does between
    // cells): pcscd sees the old card leave and the new one arrive, and the insert returns once it
    // has, not after its 3 s bound. pcscd may ask for presence twice in a row; one absent answer
    // between two present ones used to go unseen, so a swap waited 3 s (then 5 s more in run).
    {
        const auto counter = [](const pcsc::ReaderStatus& s) { return s.state.raw >> 16U; };
        for (int i = 0; i < 6; ++i) {
            const auto before = context.status_of(r01.status.pcsc_reader);
            const auto swapping = Clock::now();
            client.insert("r01", std::string(i % 2 == 0 ? "mynumber" : "juki"), false);
            const auto insert_ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - swapping)
                    .count();
            const auto now = seen([&](const auto& s) {
                return s.state.present && !s.atr.empty() &&
                       ((counter(s) - counter(before)) & 0xFFFFU) >= 2U;
            });
            BOOST_TEST_MESSAGE("swap " << i << ": insert returned in " << insert_ms << " ms");
            BOOST_TEST(insert_ms < 1000);
            BOOST_TEST(((counter(now) - counter(before)) & 0xFFFFU) >= 2U); // left, then arrived
            BOOST_TEST(now.atr != before.atr);
        }
    }
    client.reset();
    BOOST_CHECK_THROW(client.insert("r99", std::nullopt, false), UsageError);
    BOOST_CHECK_THROW(client.insert("r01", std::string("no-such-card"), false), UsageError);

    // A second lab in the same folder is refused while this one runs.
    BOOST_CHECK_THROW(client.start(two_slot_lab()), EnvironmentError);

    const pid_t lab_pid = status.pid;
    const pid_t pcscd_pid = client.running()->pcscd_pid;
    const auto stopping = Clock::now();
    const labd::StopResult stopped = client.stop();
    const auto stop_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopping).count();
    BOOST_TEST_MESSAGE("stop took " << stop_ms << " ms");
    BOOST_TEST(stopped.was_running);
    BOOST_TEST(stop_ms < 1500); // waiting for init to reap the lab's zombie took 1.8 s
    BOOST_TEST(!labd::process_alive(lab_pid));
    BOOST_TEST(!labd::process_alive(pcscd_pid));
    BOOST_TEST(!client.running().has_value());
    BOOST_TEST(!fs::exists(client.folder().state()));
    BOOST_TEST(!fs::exists(client.folder().socket()));
    BOOST_CHECK_THROW(client.status(), EnvironmentError);
    BOOST_CHECK_THROW(client.stop(), EnvironmentError);
}

BOOST_AUTO_TEST_CASE(the_lab_folder_and_its_sockets_are_owner_only) {
    require_lab();
    LabGuard guard;
    const labd::Client client(lab_dir());
    ::chmod(lab_dir().c_str(), 0755); // as an older version left it
    const labd::StartResult result = client.start(two_slot_lab());
    const labd::LabFolder& f = client.folder();
    BOOST_TEST(mode_of(f.dir) == 0700U);
    BOOST_TEST(mode_of(f.socket()) == 0600U);
    BOOST_TEST(mode_of(f.run_dir()) == 0700U);
    BOOST_TEST(mode_of(result.pcsc_socket) == 0600U);
    BOOST_TEST(mode_of(f.state()) == 0600U);
    BOOST_TEST(mode_of(f.log()) == 0600U);
    BOOST_TEST(mode_of(f.conf_dir() / "cardharness-lab.conf") == 0600U);
    // Another local user reaches neither pcscd (and so no card) nor the lab's own socket.
    BOOST_TEST(connect_as_nobody(result.pcsc_socket) == EACCES);
    BOOST_TEST(connect_as_nobody(f.socket()) == EACCES);
    // Root (the owner) does.
    ::setenv("PCSCLITE_CSOCK_NAME", result.pcsc_socket.c_str(), 1);
    BOOST_TEST(pcsc::Context().list_readers().size() == 2U);
    client.stop();
}

BOOST_AUTO_TEST_CASE(a_lab_folder_that_belongs_to_another_user_is_refused) {
    require_lab();
    const fs::path dir = lab_dir().string() + "-other";
    fs::create_directories(dir);
    BOOST_REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    BOOST_CHECK_THROW(labd::Client(dir).start(two_slot_lab()), EnvironmentError);
    fs::remove_all(dir);
    const fs::path link = lab_dir().string() + "-link";
    fs::create_directory_symlink("/tmp", link);
    BOOST_CHECK_THROW(labd::Client(link).start(two_slot_lab()), EnvironmentError);
    fs::remove(link);
}

BOOST_AUTO_TEST_CASE(a_lab_ends_with_its_owner_process_also_on_kill_9) {
    require_lab();
    LabGuard guard;
    const pid_t owner = ::fork();
    if (owner == 0) {
        ::pause();
        ::_exit(0);
    }
    const labd::Client client(lab_dir());
    labd::StartOptions options;
    options.owner_pid = owner;
    client.start(two_slot_lab(), options);
    const auto state = client.running();
    BOOST_REQUIRE(state.has_value());
    BOOST_TEST(state->owner_pid.value_or(-1) == owner);
    BOOST_TEST(client.status().owner_pid.value_or(-1) == owner);

    ::kill(owner, SIGKILL);
    ::waitpid(owner, nullptr, 0);
    BOOST_TEST(ends_within(state->pid, std::chrono::seconds(5)));
    BOOST_TEST(ends_within(state->pcscd_pid, std::chrono::seconds(5)));
    BOOST_TEST(!client.running().has_value());
    BOOST_TEST(!fs::exists(client.folder().state()));
    std::ifstream log(client.folder().log());
    const std::string text((std::istreambuf_iterator<char>(log)), {});
    BOOST_TEST(text.find(fmt::format("its owner (pid {}) ended", owner)) != std::string::npos);

    // An owner that does not exist is a usage error, before anything starts.
    options.owner_pid = owner; // reaped: gone
    BOOST_CHECK_THROW(client.start(two_slot_lab(), options), UsageError);
    BOOST_TEST(!client.running().has_value());
}

BOOST_AUTO_TEST_CASE(a_killed_lab_takes_its_pcscd_along_and_the_next_start_cleans_up) {
    require_lab();
    LabGuard guard;
    const labd::Client client(lab_dir());
    client.start(two_slot_lab());
    const auto state = client.running();
    BOOST_REQUIRE(state.has_value());
    ::kill(state->pid, SIGKILL);
    BOOST_TEST(ends_within(state->pid, std::chrono::seconds(5)));
    // pcscd got SIGTERM from the kernel when its lab died (PR_SET_PDEATHSIG).
    BOOST_TEST(ends_within(state->pcscd_pid, std::chrono::seconds(5)));
    // What the killed lab left: its state file and sockets.
    BOOST_TEST(fs::exists(client.folder().state()));
    BOOST_TEST(!client.running().has_value());
    BOOST_CHECK_THROW(client.status(), EnvironmentError);

    const labd::StartResult again = client.start(two_slot_lab());
    BOOST_TEST(again.cleaned_stale);
    BOOST_TEST(client.running().has_value());
    BOOST_TEST(client.running()->pid != state->pid);
    BOOST_TEST(client.status().slots.size() == 2U);

    // `lab stop` of a lab that is already dead cleans up and says so.
    const auto second = client.running();
    ::kill(second->pid, SIGKILL);
    BOOST_TEST(ends_within(second->pid, std::chrono::seconds(5)));
    const labd::StopResult stopped = client.stop();
    BOOST_TEST(!stopped.was_running);
    BOOST_TEST(stopped.cleaned_stale);
    BOOST_TEST(!fs::exists(client.folder().state()));
}

BOOST_AUTO_TEST_CASE(zz_remove_the_lab_folder) {
    std::error_code ec;
    fs::remove_all(lab_dir(), ec);
    BOOST_TEST(true);
}
