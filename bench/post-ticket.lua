-- wrk script: POST a new ticket with a first customer message; subjects vary so rules differ.
local n = 0
local subjects = {"ZWROT zamówienia %d", "Reklamacja butów %d", "Gdzie jest paczka %d?", "ВОЗВРАТ ТОВАРА %d", "Faktura VAT %d"}
local sources = {"email", "allegro-discussions", "allegro-messages", "chat", "web-form"}
request = function()
  n = n + 1
  local subject = string.format(subjects[(n % #subjects) + 1], n)
  local source = sources[(n % #sources) + 1]
  local body = string.format(
    '{"subject": "%s", "source": "%s", "account": "sklep_%d", "customer": {"name": "Klient %d", "email": "k%d@example.pl"}, "message": {"body": "Dzień dobry, mam pytanie o zamówienie %d."}}',
    subject, source, n % 3, n, n % 1000, n)
  return wrk.format("POST", "/api/v1/tickets", {["Authorization"] = "Bearer " .. os.getenv("FERRULE_KEY"), ["Content-Type"] = "application/json"}, body)
end
