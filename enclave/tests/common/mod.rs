//! What the worked-example tests share.

/// Every `name: 0x…` line of a document, as bytes by name.
pub(crate) fn documented(doc: &str) -> std::collections::HashMap<String, Vec<u8>> {
    let mut values = std::collections::HashMap::new();
    for line in doc.lines() {
        if let Some((key, value)) = line.split_once(": 0x")
            && !key.contains(' ')
        {
            values.insert(key.trim().to_owned(), hex::decode(value.trim()).expect("hex"));
        }
    }
    values
}
