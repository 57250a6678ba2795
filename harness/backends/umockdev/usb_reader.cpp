#include "backends/umockdev/usb_reader.hpp"

#include "backends/umockdev/glib_umockdev.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <mutex>
#include <optional>
#include <unistd.h>

namespace harness::umock {
namespace {

using Clock = std::chrono::steady_clock;

// A URB a client submitted and we have not handed back yet.
struct Urb {
    UMockdevIoctlClient* client = nullptr; // the connection (one per open device node)
    UMockdevIoctlData* data = nullptr;     // our reference to the resolved usbdevfs_urb
    unsigned long client_addr = 0;         // the URB's address in the client
    std::uint8_t endpoint = 0;
    std::uint8_t type = 0;
    int buffer_length = 0;
    // Set when complete: status and (IN) the bytes to copy into the client's buffer.
    int status = 0;
    bool has_reply = false;
    Bytes reply;
    bool buffer_written = false; // control: already written at submit time
};

usbdevfs_urb* urb_of(UMockdevIoctlData* data) {
    return reinterpret_cast<usbdevfs_urb*>(data->data);
}

void unref(Urb& urb) {
    if (urb.data)
        g_object_unref(urb.data);
    urb.data = nullptr;
}

constexpr std::size_t pipe_page = 4096;

// A GSource that fires once at its ready time (g_source_set_ready_time), calling its callback.
gboolean dispatch_timer(GSource*, GSourceFunc callback, gpointer data) {
    return callback ? callback(data) : G_SOURCE_REMOVE;
}
GSourceFuncs timer_funcs{nullptr, nullptr, &dispatch_timer, nullptr, nullptr, nullptr};

} // namespace

struct UsbReader::Impl {
    UMockdevIoctlBase* handler = nullptr;
    mutable std::mutex mutex;
    std::deque<Urb> waiting_in; // bulk IN and interrupt IN URBs waiting for data
    std::deque<Urb> done;       // completed URBs, reaped in order
    bool disconnected = false;
    UsbCounters counters;
    // Readiness for poll(): the device node is a FIFO kept full (not writable) while nothing is
    // ready to reap; one page is read out of it when something is (POLLOUT, as usbfs signals a
    // completed URB).
    int wakeup_fd = -1;
    bool signalled = false;
    GMainContext* context = nullptr; // the testbed's worker thread (for the due-reply timer)
    GSource* timer = nullptr;
    Clock::time_point timer_due{};
};

// The GLib side: one static callback per signal (GObject signals call C functions).
struct Handler {
    static gboolean on_ioctl(UMockdevIoctlBase* base, UMockdevIoctlClient* client, gpointer self);
    static void on_connected(UMockdevIoctlBase* base, UMockdevIoctlClient* client, gpointer self);
    static gboolean on_timer(gpointer self);
    // With the lock held: hands a ready URB of `client` back through its REAP argument.
    static bool try_reap(UsbReader& reader, UMockdevIoctlClient* client);
    // With the lock held: sets the node's readiness from what can be reaped now, and arms the
    // timer for the firmware's next due reply.
    static void update_ready(UsbReader& reader);
};

namespace {

// Answers a control transfer on endpoint 0 (USB 2.0 §9.4 standard requests, CCID §5.3 class
// requests). nullopt: STALL.
std::optional<Bytes> control_answer(const UsbReader& reader, ByteView setup) {
    const std::uint8_t request_type = setup[0];
    const std::uint8_t request = setup[1];
    const auto value = static_cast<std::uint16_t>(setup[2] | (setup[3] << 8));
    const auto length = static_cast<std::uint16_t>(setup[6] | (setup[7] << 8));
    std::optional<Bytes> answer;
    if (request_type == 0x80 && request == 0x06) { // GET_DESCRIPTOR
        const auto type = static_cast<std::uint8_t>(value >> 8);
        const auto index = static_cast<std::uint8_t>(value & 0xFF);
        if (type == usbdesc::type_device)
            answer = usbdesc::device_descriptor(reader.description());
        else if (type == usbdesc::type_configuration && index == 0)
            answer = usbdesc::configuration_descriptor(reader.description());
        else if (type == usbdesc::type_string)
            answer = usbdesc::string_descriptor(reader.description(), index);
    } else if (request_type == 0x80 && request == 0x00) { // GET_STATUS
        answer = Bytes{0, 0};
    } else if (request_type == 0x80 && request == 0x08) { // GET_CONFIGURATION
        answer = Bytes{1};
    } else if ((request_type & 0x60) == 0x20) { // class request to the CCID interface
        answer = reader.firmware().control(request, value, length);
    } else if (request_type == 0x00 || request_type == 0x01 || request_type == 0x02) {
        answer = Bytes{}; // SET_FEATURE/CLEAR_FEATURE/SET_CONFIGURATION...: accepted
    }
    if (answer && answer->size() > length)
        answer->resize(length);
    return answer;
}

// Hands a completed URB back to the client of a REAP request.
void hand_back(UMockdevIoctlData* arg, Urb& urb) {
    usbdevfs_urb* u = urb_of(urb.data);
    if (urb.has_reply && !urb.buffer_written) {
        const auto n = std::min<std::size_t>(
            urb.reply.size(), static_cast<std::size_t>(std::max(urb.buffer_length, 0)));
        if (n > 0) {
            UMockdevIoctlData* buffer =
                umockdev_ioctl_data_resolve(urb.data, offsetof(usbdevfs_urb, buffer), n, nullptr);
            if (buffer) {
                std::memcpy(buffer->data, urb.reply.data(), n);
                g_object_unref(buffer);
            }
        }
        u->actual_length = static_cast<int>(n);
        if (urb.reply.size() > n && urb.status == 0)
            urb.status = -EOVERFLOW;
    }
    u->status = urb.status;
    UMockdevIoctlData* pointer = umockdev_ioctl_data_resolve(arg, 0, sizeof(void*), nullptr);
    if (pointer) {
        umockdev_ioctl_data_set_ptr(pointer, 0, urb.data);
        g_object_unref(pointer);
    }
}

} // namespace

bool Handler::try_reap(UsbReader& reader, UMockdevIoctlClient* client) {
    auto& impl = *reader.impl_;
    // Completed URBs first (bulk OUT, control, discarded), then replies the firmware has.
    auto mine = [&](const Urb& u) { return u.client == client; };
    auto it = std::find_if(impl.done.begin(), impl.done.end(), mine);
    if (it == impl.done.end() && !impl.disconnected) {
        const auto now = Clock::now();
        for (auto w = impl.waiting_in.begin(); w != impl.waiting_in.end(); ++w) {
            if (w->client != client)
                continue;
            std::optional<Bytes> reply;
            if (w->type == USBDEVFS_URB_TYPE_INTERRUPT)
                reply = reader.firmware().take_interrupt();
            else
                reply = reader.firmware().take_bulk_in(now);
            if (!reply)
                continue;
            w->reply = std::move(*reply);
            w->has_reply = true;
            if (w->type == USBDEVFS_URB_TYPE_INTERRUPT) {
                ++impl.counters.interrupts;
                impl.counters.bulk_out_since_interrupt = 0;
            }
            impl.done.push_back(std::move(*w));
            impl.waiting_in.erase(w);
            it = std::prev(impl.done.end());
            break;
        }
    }
    if (it == impl.done.end())
        return false;
    Urb urb = std::move(*it);
    impl.done.erase(it);
    ++impl.counters.reaps;
    hand_back(umockdev_ioctl_client_get_arg(client), urb);
    unref(urb);
    return true;
}

void Handler::update_ready(UsbReader& reader) {
    auto& impl = *reader.impl_;
    const auto now = Clock::now();
    bool bulk_waiting = false;
    bool interrupt_waiting = false;
    for (const auto& w : impl.waiting_in)
        (w.type == USBDEVFS_URB_TYPE_INTERRUPT ? interrupt_waiting : bulk_waiting) = true;
    const auto due = bulk_waiting && !impl.disconnected ? reader.firmware().next_due()
                                                        : std::optional<Clock::time_point>{};
    const bool ready =
        !impl.done.empty() || (due && *due <= now) ||
        (interrupt_waiting && !impl.disconnected && reader.firmware().interrupt_pending());
    if (impl.wakeup_fd >= 0 && ready != impl.signalled) {
        std::array<char, pipe_page> page{};
        const auto n = ready ? ::read(impl.wakeup_fd, page.data(), page.size())
                             : ::write(impl.wakeup_fd, page.data(), page.size());
        if (n == static_cast<ssize_t>(page.size()))
            impl.signalled = ready;
    }
    // A reply due later: wake the node when it is.
    if (due && *due > now && impl.context && (!impl.timer || impl.timer_due != *due)) {
        if (impl.timer) {
            g_source_destroy(impl.timer);
            g_source_unref(impl.timer);
        }
        // Microsecond resolution (g_timeout_source_new rounds to milliseconds: up to 1 ms added
        // to every reply of a reader model with a 500 µs latency).
        const auto wait = std::chrono::ceil<std::chrono::microseconds>(*due - now);
        impl.timer = g_source_new(&timer_funcs, sizeof(GSource));
        g_source_set_ready_time(impl.timer, g_get_monotonic_time() + wait.count());
        impl.timer_due = *due;
        g_source_set_callback(impl.timer, &Handler::on_timer, &reader, nullptr);
        g_source_attach(impl.timer, impl.context);
    }
}

gboolean Handler::on_timer(gpointer self) {
    auto& reader = *static_cast<UsbReader*>(self);
    std::lock_guard lock(reader.impl_->mutex);
    g_source_unref(reader.impl_->timer);
    reader.impl_->timer = nullptr;
    update_ready(reader);
    return G_SOURCE_REMOVE;
}

gboolean Handler::on_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer self) {
    auto& reader = *static_cast<UsbReader*>(self);
    auto& impl = *reader.impl_;
    const auto started = Clock::now();
    const unsigned long request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
    std::lock_guard lock(impl.mutex);
    ++impl.counters.ioctls;
    if (!impl.context)
        impl.context = g_main_context_ref(g_main_context_get_thread_default());
    const auto complete = [&](long result, int error) {
        update_ready(reader);
        impl.counters.handler_time += Clock::now() - started;
        umockdev_ioctl_client_complete(client, result, error);
        return TRUE;
    };

    if (request == USBDEVFS_REAPURB || request == USBDEVFS_REAPURBNDELAY) {
        if (try_reap(reader, client))
            return complete(0, 0);
        ++impl.counters.reaps_empty;
        return complete(-1, impl.disconnected ? ENODEV : EAGAIN);
    }

    if (impl.disconnected) {
        if (request == USBDEVFS_DISCARDURB) {
            ++impl.counters.discards;
            return complete(-1, EINVAL); // already ended with ESHUTDOWN at disconnect
        }
        return complete(-1, ENODEV);
    }

    switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(std::uint32_t), nullptr);
        if (!d)
            return complete(-1, EFAULT);
        // Not BULK_CONTINUATION: with it libusb splits libccid's 64 KB bulk-IN read into 16 KB URBs
        // and discards four of them after every reply. NO_PACKET_SIZE_LIM: one URB per transfer
        // (and so one PC_to_RDR message per bulk-OUT URB).
        const std::uint32_t caps = USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                   USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
        std::memcpy(d->data, &caps, sizeof caps);
        g_object_unref(d);
        return complete(0, 0);
    }
    case USBDEVFS_CLAIMINTERFACE:
        ++impl.counters.claims;
        reader.claimed_ = true;
        return complete(0, 0);
    case USBDEVFS_RELEASEINTERFACE:
        reader.claimed_ = false;
        return complete(0, 0);
    case USBDEVFS_SETCONFIGURATION:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_RESETEP:
        return complete(0, 0);
    case USBDEVFS_CLEAR_HALT:
        reader.firmware().reset_pipes(false);
        return complete(0, 0);
    case USBDEVFS_RESET:
        reader.firmware().reset_pipes(true);
        return complete(0, 0);
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL:
        return complete(-1, ENODATA); // no kernel driver bound to the interface
    case USBDEVFS_DISCONNECT_CLAIM:
        ++impl.counters.claims;
        reader.claimed_ = true;
        return complete(0, 0);
    case USBDEVFS_DISCARDURB: {
        ++impl.counters.discards;
        const auto addr = *reinterpret_cast<unsigned long*>(arg->data);
        for (auto w = impl.waiting_in.begin(); w != impl.waiting_in.end(); ++w)
            if (w->client == client && w->client_addr == addr) {
                w->status = -ENOENT;
                w->has_reply = false;
                impl.done.push_back(std::move(*w));
                impl.waiting_in.erase(w);
                return complete(0, 0);
            }
        return complete(-1, EINVAL);
    }
    case USBDEVFS_SUBMITURB: {
        ++impl.counters.submits;
        UMockdevIoctlData* data =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_urb), nullptr);
        if (!data)
            return complete(-1, EFAULT);
        Urb urb;
        urb.client = client;
        urb.data = data; // our reference
        urb.client_addr = data->client_addr;
        const usbdevfs_urb* u = urb_of(data);
        urb.endpoint = u->endpoint;
        urb.type = u->type;
        urb.buffer_length = u->buffer_length;
        const bool in = (u->endpoint & 0x80U) != 0;
        if (u->type == USBDEVFS_URB_TYPE_CONTROL) {
            ++impl.counters.control;
            if (u->buffer_length < 8) {
                unref(urb);
                return complete(-1, EINVAL);
            }
            UMockdevIoctlData* buffer =
                umockdev_ioctl_data_resolve(data, offsetof(usbdevfs_urb, buffer),
                                            static_cast<std::size_t>(u->buffer_length), nullptr);
            if (!buffer) {
                unref(urb);
                return complete(-1, EFAULT);
            }
            const auto answer = control_answer(reader, ByteView(buffer->data, 8));
            usbdevfs_urb* mu = urb_of(data);
            if (!answer) {
                urb.status = -EPIPE; // STALL
                mu->actual_length = 0;
            } else {
                const auto room = static_cast<std::size_t>(u->buffer_length - 8);
                const auto n = std::min(room, answer->size());
                if ((buffer->data[0] & 0x80U) != 0)
                    std::memcpy(buffer->data + 8, answer->data(), n);
                mu->actual_length =
                    static_cast<int>((buffer->data[0] & 0x80U) != 0
                                         ? n
                                         : static_cast<std::size_t>(u->buffer_length - 8));
            }
            g_object_unref(buffer);
            urb.buffer_written = true;
            urb.has_reply = true;
            impl.done.push_back(std::move(urb));
            return complete(0, 0);
        }
        if (!in) {
            // Bulk OUT: one PC_to_RDR message (NO_PACKET_SIZE_LIM: libusb sends it as one URB).
            UMockdevIoctlData* buffer = umockdev_ioctl_data_resolve(
                data, offsetof(usbdevfs_urb, buffer),
                static_cast<std::size_t>(std::max(u->buffer_length, 0)), nullptr);
            if (u->buffer_length > 0 && !buffer) {
                unref(urb);
                return complete(-1, EFAULT);
            }
            const Bytes message =
                buffer ? Bytes(buffer->data, buffer->data + buffer->data_len) : Bytes{};
            if (buffer)
                g_object_unref(buffer);
            urb_of(data)->actual_length = u->buffer_length;
            ++impl.counters.bulk_out_since_interrupt;
            impl.done.push_back(std::move(urb));
            reader.firmware().bulk_out(message, Clock::now());
            return complete(0, 0);
        }
        impl.waiting_in.push_back(std::move(urb));
        return complete(0, 0);
    }
    default:
        ++impl.counters.other;
        return complete(-1, ENOTTY);
    }
}

void Handler::on_connected(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer self) {
    auto& reader = *static_cast<UsbReader*>(self);
    auto& impl = *reader.impl_;
    std::lock_guard lock(impl.mutex);
    ++impl.counters.clients;
    // URBs of connections that have gone (a closed device node) are never reaped again.
    const auto gone = [&](Urb& u) {
        if (u.client == client || umockdev_ioctl_client_get_connected(u.client))
            return false;
        unref(u);
        return true;
    };
    impl.waiting_in.erase(std::remove_if(impl.waiting_in.begin(), impl.waiting_in.end(), gone),
                          impl.waiting_in.end());
    impl.done.erase(std::remove_if(impl.done.begin(), impl.done.end(), gone), impl.done.end());
    update_ready(reader);
}

UsbReader::UsbReader(usbdesc::Device description, usbdesc::Location location,
                     ReaderFirmware firmware)
    : description_(std::move(description)), location_(std::move(location)),
      firmware_(std::move(firmware)), impl_(std::make_unique<Impl>()) {
    impl_->handler = umockdev_ioctl_base_new();
    g_signal_connect(impl_->handler, "handle-ioctl", G_CALLBACK(&Handler::on_ioctl), this);
    g_signal_connect(impl_->handler, "client-connected", G_CALLBACK(&Handler::on_connected), this);
}

UsbReader::~UsbReader() {
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& u : impl_->waiting_in)
            unref(u);
        for (auto& u : impl_->done)
            unref(u);
        impl_->waiting_in.clear();
        impl_->done.clear();
        if (impl_->timer) {
            g_source_destroy(impl_->timer);
            g_source_unref(impl_->timer);
            impl_->timer = nullptr;
        }
        if (impl_->wakeup_fd >= 0)
            ::close(impl_->wakeup_fd);
    }
    g_signal_handlers_disconnect_by_data(impl_->handler, this);
    g_object_unref(impl_->handler);
    if (impl_->context)
        g_main_context_unref(impl_->context);
}

void UsbReader::set_wakeup_fifo(int fd) {
    std::lock_guard lock(impl_->mutex);
    impl_->wakeup_fd = fd;
    // Full: nothing to reap yet (poll() on the node blocks).
    std::array<char, pipe_page> page{};
    while (::write(fd, page.data(), page.size()) == static_cast<ssize_t>(page.size()))
        ;
    impl_->signalled = false;
}

std::uint32_t UsbReader::channel_id() const {
    return 0x00200000U | ((location_.bus & 0xFFU) << 8) | (location_.address & 0xFFU);
}

UsbCounters UsbReader::counters() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counters;
}

void* UsbReader::handler() const {
    return impl_->handler;
}

void UsbReader::disconnect() {
    std::lock_guard lock(impl_->mutex);
    plugged_ = false;
    claimed_ = false;
    impl_->disconnected = true;
    for (auto& u : impl_->waiting_in) {
        u.status = -ESHUTDOWN;
        u.has_reply = false;
        impl_->done.push_back(std::move(u));
    }
    impl_->waiting_in.clear();
    Handler::update_ready(*this);
}

void UsbReader::wake() {
    std::lock_guard lock(impl_->mutex);
    Handler::update_ready(*this);
}

} // namespace harness::umock
