fn main() {
    println!("altrepodb");
}
