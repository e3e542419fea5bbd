fn main() {
    coordinator_dashboard::app::start();
}
