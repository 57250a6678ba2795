// The lab socket server without pcscd: persistent connections (many requests, one connection),
// the owner-only socket, WaitChange (the driver's IFDHPolling) waking on card changes and at
// stop, the Stop request, and citizen cards refused when the lab serves the system pcscd.
#include "backends/fd_io.hpp"
#include "backends/lab/lab_socket.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"
#include "services/lab/lab.hpp"
#include "services/lab/reader_model.hpp"
#include "support/test_support.hpp"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <future>
#include <ostream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;
using labwire::Op;
using Clock = std::chrono::steady_clock;

namespace harness::ifd {
std::ostream& operator<<(std::ostream& out, Code code) {
    return out << to_string(code);
}
} // namespace harness::ifd

namespace {

std::shared_ptr<io::VirtualCard> make_card(const std::string& profile, bool citizen) {
    emu::Options options;
    options.citizen = citizen;
    return std::shared_ptr<io::VirtualCard>(emu::make_card(profile, options));
}

struct Fixture {
    fs::path dir;
    std::unique_ptr<lab::Lab> lab;
    std::unique_ptr<labd::Server> server;
    std::thread serving;
    std::atomic<int> notified{0};

    explicit Fixture(bool system_pcscd = false) {
        char templ[] = "/tmp/chsock.XXXXXX";
        BOOST_REQUIRE(::mkdtemp(templ));
        dir = templ;
        lab = std::make_unique<lab::Lab>(
            lab::load_reader_model_dir(test::source_dir() / "profiles" / "readers"),
            std::vector<lab::SlotConfig>{
                {"r01", "lab-tpdu-contact", "mynumber", lab::Interface::Contact, false}},
            make_card);
        lab->set_real_time(true);
        server = std::make_unique<labd::Server>(*lab, dir / "lab.sock", lab::Logger{},
                                                [this](Op) { ++notified; });
        if (system_pcscd)
            server->refuse_citizen_cards("citizen cards need the private pcscd");
        serving = std::thread([this] { server->run(); });
    }
    ~Fixture() {
        server->stop();
        serving.join();
        server.reset();
        fs::remove_all(dir);
    }
};

// A client connection that stays open, as the driver's.
class Connection {
public:
    explicit Connection(const fs::path& socket) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
        BOOST_REQUIRE(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    void send(const labwire::Request& request) {
        const Bytes frame = labwire::frame(labwire::encode_body(request));
        BOOST_REQUIRE(fdio::send_all(fd_.get(), frame.data(), frame.size()));
    }
    std::optional<labwire::Reply> receive() {
        std::uint8_t header[labwire::header_length];
        if (!fdio::receive_all(fd_.get(), header, sizeof header))
            return std::nullopt;
        Bytes body(*labwire::body_length(ByteView(header, sizeof header)));
        if (!fdio::receive_all(fd_.get(), body.data(), body.size()))
            return std::nullopt;
        return labwire::decode_reply(body);
    }
    labwire::Reply call(const labwire::Request& request) {
        send(request);
        auto reply = receive();
        BOOST_REQUIRE(reply.has_value());
        return *reply;
    }

private:
    fdio::Fd fd_;
};

} // namespace

BOOST_AUTO_TEST_CASE(one_connection_carries_many_requests_and_the_socket_is_owner_only) {
    Fixture f;
    struct stat st {};
    BOOST_REQUIRE(::stat((f.dir / "lab.sock").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600U);

    Connection c(f.dir / "lab.sock");
    BOOST_TEST(c.call({Op::Hello, "r01", 0, {}}).code == ifd::Code::Success);
    BOOST_TEST(c.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccPresent);
    const auto atr = c.call({Op::Power, "r01", 500, {}});
    BOOST_TEST(atr.code == ifd::Code::Success);
    BOOST_TEST(atr.data.size() == 19U);
    for (int i = 0; i < 50; ++i) {
        const auto r = c.call({Op::Transmit, "r01", 2,
                               Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26,
                                     0x01, 0x00, 0x00, 0x00, 0x01}});
        BOOST_TEST(r.code == ifd::Code::Success);
    }
    BOOST_TEST(f.server->accepted() == 1U);
    BOOST_TEST(f.server->requests() == 53U);
    BOOST_TEST(f.notified >= 52); // the last one may still be on its way
    // A malformed request is answered, then that connection ends.
    BOOST_TEST(c.call({static_cast<Op>(0x3F), "r01", 0, {}}).code == ifd::Code::BadRequest);
}

BOOST_AUTO_TEST_CASE(wait_change_answers_when_the_card_changes_and_times_out_otherwise) {
    Fixture f;
    Connection calls(f.dir / "lab.sock");
    Connection events(f.dir / "lab.sock");
    // Before pcscd asked for presence at all, there is something to see at once.
    BOOST_TEST(events.call({Op::WaitChange, "r01", 5000, {}}).code == ifd::Code::Success);
    BOOST_TEST(calls.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccPresent);
    // Nothing changes: the wait runs out.
    const auto started = Clock::now();
    BOOST_TEST(events.call({Op::WaitChange, "r01", 100, {}}).code == ifd::Code::ResponseTimeout);
    BOOST_TEST((Clock::now() - started) >= std::chrono::milliseconds(90));
    // A removal wakes a waiting call at once.
    events.send({Op::WaitChange, "r01", 10000, {}});
    const auto removal = std::async(std::launch::async, [&] { f.lab->remove("r01"); });
    const auto woken = events.receive();
    BOOST_REQUIRE(woken.has_value());
    BOOST_TEST(woken->code == ifd::Code::Success);
    BOOST_TEST(calls.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccNotPresent);
    removal.wait();
    // Insertion likewise.
    events.send({Op::WaitChange, "r01", 10000, {}});
    const auto insertion =
        std::async(std::launch::async, [&] { f.lab->insert("r01", std::nullopt, false); });
    BOOST_TEST(events.receive()->code == ifd::Code::Success);
    BOOST_TEST(calls.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccPresent);
    BOOST_TEST(calls.call({Op::Power, "r01", 500, {}}).code == ifd::Code::Success);
    insertion.wait();
    // A swap shows one absence, then the new card: two changes in a row.
    events.send({Op::WaitChange, "r01", 10000, {}});
    const auto swap = std::async(std::launch::async, [&] { f.lab->insert("r01", "juki", false); });
    BOOST_TEST(events.receive()->code == ifd::Code::Success);
    BOOST_TEST(calls.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccNotPresent);
    BOOST_TEST(events.call({Op::WaitChange, "r01", 10000, {}}).code == ifd::Code::Success);
    BOOST_TEST(calls.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccPresent);
    BOOST_TEST(calls.call({Op::Power, "r01", 500, {}}).code == ifd::Code::Success);
    swap.wait();
}

BOOST_AUTO_TEST_CASE(stopping_the_server_ends_waiting_calls_and_idle_connections) {
    auto f = std::make_unique<Fixture>();
    Connection calls(f->dir / "lab.sock");
    Connection events(f->dir / "lab.sock");
    BOOST_TEST(calls.call({Op::Presence, "r01", 0, {}}).code == ifd::Code::IccPresent);
    events.send({Op::WaitChange, "r01", 600000, {}});
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the wait has begun
    const auto started = Clock::now();
    f.reset(); // stop + join: returns once every connection thread has ended
    BOOST_TEST((Clock::now() - started) < std::chrono::seconds(2));
    const auto reply = events.receive(); // the wait was answered or the connection shut
    BOOST_TEST((!reply || reply->code == ifd::Code::ResponseTimeout));
    BOOST_TEST(!calls.receive().has_value()); // shut down
}

BOOST_AUTO_TEST_CASE(a_stop_request_is_answered_and_ends_run) {
    Fixture f;
    const auto reply = labd::call(f.dir / "lab.sock", {Op::Stop, "", 0, {}});
    BOOST_TEST(reply.code == ifd::Code::Success);
    for (int i = 0; i < 100 && !f.server->stopped(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    BOOST_TEST(f.server->stopped());
}

BOOST_AUTO_TEST_CASE(citizen_cards_are_refused_when_the_lab_serves_the_system_pcscd) {
    Fixture f(true);
    const auto refused = labd::call(f.dir / "lab.sock", {Op::Insert, "r01", 1, bytes_of("juki")});
    BOOST_TEST(refused.code == ifd::Code::BadRequest);
    BOOST_TEST(std::string(refused.data.begin(), refused.data.end()).find("private pcscd") !=
               std::string::npos);
    BOOST_TEST(!f.lab->status()[0].citizen);
    const auto test_card = labd::call(f.dir / "lab.sock", {Op::Insert, "r01", 0, bytes_of("juki")});
    BOOST_TEST(test_card.code == ifd::Code::Success);
    BOOST_TEST(f.lab->status()[0].card.value_or("") == "juki");
}
